"""Settings a tune found (`devicepipe tune` writes best_params.json in its folder), read for a run's families
(`devicepipe run --params FOLDER`): each family named there trains with its best settings, and the run's notes say
where they came from. Checked before the run starts: the file, the task it was tuned for, every family's keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError
from pipelines.evaluate import PRIMARY

BEST = "best_params.json"


def tuned_settings(params: str | None, task: str, families: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{family: {"settings": ..., "note": ...}} from a tune folder (or its best_params.json); {} without one.
    `families`: the registry's, by name."""
    if params is None:
        return {}
    path = Path(params)
    path = path / BEST if path.is_dir() else path
    try:
        best = json.loads(path.read_text())
        entries, metric = best["families"], best["metric"]
    except FileNotFoundError:
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
    found = {}
    for name, entry in entries.items():
        if name not in families:
            raise ConfigError(f"--params {params} names a family devicepipe does not have: {name!r}.")
        settings = families[name].check_settings(task, dict(entry["settings"]))
        origin = f"study {best.get('study')!r}, trial {entry.get('trial')}, valid {metric} {entry['valid'][metric]:.4f}"
        note = f"{name} trained with the settings tuned in {path.parent} ({origin}): {json.dumps(settings)}"
        found[name] = {"settings": settings, "note": note}
    return found
