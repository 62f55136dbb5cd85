"""Runs side by side (`devicepipe runs compare RUN RUN...`): every model's metrics, seconds per stage, and the
settings that differ between them (the run config, backend, device, code commit). Each RUN is a complete run
folder, given as a path or by its name in the output folder; anything else is a ConfigError (exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError
from pipelines.runs.listing import Run, read_run
from pipelines.runs.rundir import INCOMPLETE


def compare_runs(names: list[Path], root: Path | str) -> str:
    """The table comparing the complete runs `names` (paths, or names of folders in `root`)."""
    if len(names) < 2:
        raise ConfigError(f"Compare needs at least two runs, found {len(names)}: devicepipe runs compare RUN RUN...")
    found = [_complete(name, Path(root)) for name in names]
    rows: list[tuple[str, list[str]]] = [("", [run.name for run in found])]
    rows.append(("best model", [run.best_model or "-" for run in found]))
    rows += _section("metrics", _metric_rows(found))
    rows += _section("seconds per stage", _seconds_rows(found))
    differ = _setting_rows(found)
    rows += _section("settings that differ", differ or [("(none: every setting is the same)", ["" for _ in found])])
    return _render(rows)


def _complete(name: Path, root: Path) -> Run:
    path = name if name.exists() or name.is_symlink() else root / name
    if not path.exists():
        raise ConfigError(f"{str(name)!r} is no run: neither {name} nor {root / name} exists.")
    run = read_run(path.resolve())
    if run.status == "incomplete":
        raise ConfigError(f"{path} is an incomplete run ({run.problem}); compare complete runs only.")
    if run.status != "complete":
        raise ConfigError(f"{path} cannot be read: {run.problem}.")
    if run.name.startswith(INCOMPLETE):  # pragma: no cover - read_run reports these as incomplete
        raise ConfigError(f"{path} is an incomplete run.")
    return run


def _metric_rows(found: list[Run]) -> list[tuple[str, list[str]]]:
    models = _union(list(run.metrics["models"]) for run in found)
    rows = []
    for model in models:
        for split in ("valid", "test"):
            names = _union(list(run.metrics["models"].get(model, {}).get(split, {})) for run in found)
            for metric in names:
                cells = [_number(run.metrics["models"].get(model, {}).get(split, {}).get(metric), 4) for run in found]
                rows.append((f"{model} {split} {metric}", cells))
    return rows


def _seconds_rows(found: list[Run]) -> list[tuple[str, list[str]]]:
    seconds = [run.manifest.get("seconds") or {} for run in found]
    stages = _union(list(s) for s in seconds)
    rows = [(stage, [_number(s.get(stage), 2) for s in seconds]) for stage in stages]
    totals = [sum(v for v in s.values() if isinstance(v, int | float)) for s in seconds]
    return [*rows, ("total", [_number(total, 2) for total in totals])]


def _setting_rows(found: list[Run]) -> list[tuple[str, list[str]]]:
    settings = [_settings(run.manifest) for run in found]
    names = _union(list(s) for s in settings)
    rows = [(name, [_text(s.get(name)) for s in settings]) for name in names]
    return [(name, cells) for name, cells in rows if len(set(cells)) > 1]


def _settings(manifest: dict[str, Any]) -> dict[str, Any]:
    backend = manifest.get("backend") or {}
    extra = {
        "backend used": backend.get("name"),
        "device": backend.get("device"),
        "git commit": manifest.get("git_commit"),
    }
    return {**(manifest.get("config") or {}), **extra}


def _section(title: str, rows: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    return [(f"{title}:", []), *rows]


def _render(rows: list[tuple[str, list[str]]]) -> str:
    label = max(len(name) for name, _ in rows)
    columns = max(len(cells) for _, cells in rows)
    widths = [max(len(cells[i]) for _, cells in rows if len(cells) > i) for i in range(columns)]
    lines = []
    for name, cells in rows:
        values = "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths[: len(cells)], strict=True))
        lines.append(f"{name:<{label}}  {values}".rstrip())
    return "\n".join(lines)


def _union(lists: Any) -> list[str]:
    """Every name of `lists`, in the order they first appear."""
    return list(dict.fromkeys(name for names in lists for name in names))


def _number(value: Any, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "[]"
    return str(value)
