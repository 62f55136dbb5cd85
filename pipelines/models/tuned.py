"""Settings a tune found (`devicepipe tune` writes best_params.json in its folder), read for a run's families
(`devicepipe run --params FOLDER`): each family named there trains with its best settings, and the run's notes say
where they came from. Checked before the run starts: the file, the task it was tuned for, every family's keys.

`<output>/tune-latest` points to the folder of the tune that finished last. Given as --params (the nightly train
deployment's, when a tune is served), it may not exist yet, or hold a tune of other data: the run then trains with
the families' default settings and its notes say why, instead of failing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError
from pipelines.evaluate import PRIMARY

BEST = "best_params.json"
TUNE_LATEST = "tune-latest"  # <output>/tune-latest: the folder of the tune that finished last


def tuned_settings(
    params: str | None, task: str, families: dict[str, Any], data: str | None = None
) -> dict[str, dict[str, Any]]:
    """{family: {"settings": ..., "note": ...}} from a tune folder (or its best_params.json); {} without one.
    `families`: the registry's, by name; `data`: the run's data in words (pipelines.config.describe_data), which a
    tune-latest pointer's tune must have been made on."""
    if params is None:
        return {}
    path = Path(params)
    latest = path.name == TUNE_LATEST
    path = path / BEST if path.is_dir() else path
    try:
        best = json.loads(path.read_text())
        entries, metric = best["families"], best["metric"]
    except FileNotFoundError:
        if latest:
            return _defaults(families, f"{params} names no finished tune yet")
        raise ConfigError(
            f"--params {params}: no {BEST} there. Give the folder a `devicepipe tune` wrote (runs/tune-<study>), "
            "after the tune has finished."
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"--params {params}: {path} is not a {BEST} that devicepipe tune wrote ({exc}).") from None
    if metric != PRIMARY[task]:
        raise ConfigError(
            f"--params {params} was tuned on {metric}, the metric of another task; this run's --task {task} is "
            f"judged on {PRIMARY[task]}. Tune for this task, or run without --params."
        )
    if latest and data is not None and best.get("data") != data:
        return _defaults(families, f"the latest tune, {path.parent}, was made on other data ({best.get('data')})")
    found, source = {}, path.parent.resolve() if latest else path.parent  # the pointer's: the folder it names
    for name, entry in entries.items():
        if name not in families:
            raise ConfigError(f"--params {params} names a family devicepipe does not have: {name!r}.")
        settings = families[name].check_settings(task, dict(entry["settings"]))
        origin = f"study {best.get('study')!r}, trial {entry.get('trial')}, valid {metric} {entry['valid'][metric]:.4f}"
        note = f"{name} trained with the settings tuned in {source} ({origin}): {json.dumps(settings)}"
        found[name] = {"settings": settings, "note": note}
    return found


def _defaults(families: dict[str, Any], why: str) -> dict[str, dict[str, Any]]:
    """Every family on its default settings, its note saying why no tuned ones were used."""
    return {name: {"settings": {}, "note": f"{name} trained with its default settings: {why}"} for name in families}
