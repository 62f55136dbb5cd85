"""Runs side by side (`devicepipe runs compare RUN RUN...`): every model's metrics, seconds per stage, and the
settings that differ between them (the run config, backend, device, code commit). Each RUN is a complete run
folder, given as a path or by its name in the output folder; anything else is a ConfigError (exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError
from pipelines.evaluate import HIGHER_IS_BETTER
from pipelines.runs.listing import WIDTH, Run, read_run
from pipelines.runs.rundir import INCOMPLETE

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def compare_runs(names: list[Path], root: Path | str) -> str:
    """The table comparing the complete runs `names` (paths, or names of folders in `root`): each run by a letter
    (named above the table with its best model), its metrics per model with the best value marked *, and for two
    runs the change from the first; its seconds per stage; the settings that differ."""
    if len(names) < 2:
        raise ConfigError(f"Compare needs at least two runs, found {len(names)}: devicepipe runs compare RUN RUN...")
    if len(names) > len(LETTERS):
        raise ConfigError(f"Compare takes at most {len(LETTERS)} runs, found {len(names)}: compare fewer at a time.")
    found = [_complete(name, Path(root)) for name in names]
    letters = LETTERS[: len(found)]
    legend = [
        f"{letter}  {run.name}  best model: {run.best_model or '-'}" for letter, run in zip(letters, found, strict=True)
    ]
    header = [*letters, "B - A"] if len(found) == 2 else list(letters)
    rows: list[tuple[str, list[str]]] = [("", header)]
    rows += _metric_rows(found)
    rows += _section("seconds per stage", _seconds_rows(found))
    table = _render(rows)
    differ = _setting_rows(found, letters)
    settings = ["settings that differ:", *(differ or ["  none: every setting is the same"])]
    marks = "* the best value of the row (higher or lower, as the metric goes)"
    return "\n".join([*legend, "", table, marks, "", *settings])


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
    """Per model, a row per split and metric: each run's value, the best marked *, and for two runs B - A; then the
    trivial baseline each model had to beat (unmarked: it measures the data, not a model)."""
    rows = []
    for model in _union(list(run.metrics["models"]) for run in found):
        rows += _model_rows(f"{model}:", [run.metrics["models"].get(model, {}) for run in found], marked=True)
    baselines = [run.metrics.get("trivial_baseline", {}) for run in found]
    if any(baselines):  # runs made before the baseline was recorded have none
        rows += _model_rows("trivial baseline:", baselines, marked=False)
    return rows


def _model_rows(title: str, scores: list[dict[str, Any]], marked: bool) -> list[tuple[str, list[str]]]:
    rows: list[tuple[str, list[str]]] = [(title, [])]
    for split in ("valid", "test"):
        for metric in _union(list(score.get(split, {})) for score in scores):
            values = [score.get(split, {}).get(metric) for score in scores]
            rows.append((f"  {split} {metric}", _cells(values, 4, HIGHER_IS_BETTER.get(metric) if marked else None)))
    return rows


def _cells(values: list[Any], digits: int, higher: bool | None) -> list[str]:
    """The values as numbers, the best one marked * (when they differ and the metric has a direction), and for two
    values their difference."""
    numbers = [v for v in values if _is_number(v)]
    best = None
    if higher is not None and len(set(numbers)) > 1:
        best = max(numbers) if higher else min(numbers)
    cells = [_number(v, digits) + ("*" if best is not None and v == best else " ") for v in values]
    if len(values) == 2:
        both = all(_is_number(v) for v in values)
        cells.append(f"{values[1] - values[0]:+.{digits}f} " if both else "- ")
    return cells


def _seconds_rows(found: list[Run]) -> list[tuple[str, list[str]]]:
    seconds = [run.manifest.get("seconds") or {} for run in found]
    stages = _union(list(s) for s in seconds)
    rows = [(f"  {stage}", _cells([s.get(stage) for s in seconds], 2, False)) for stage in stages]
    totals = [sum(v for v in s.values() if _is_number(v)) for s in seconds]
    return [*rows, ("  total", _cells(totals, 2, False))]


def _setting_rows(found: list[Run], letters: str) -> list[str]:
    """Each setting whose value differs: on one line when the values fit WIDTH, else one value a line."""
    settings = [_settings(run.manifest) for run in found]
    names = _union(list(s) for s in settings)
    lines = []
    for name in names:
        values = [_text(s.get(name)) for s in settings]
        if len(set(values)) < 2:
            continue
        line = f"  {name}: " + "  ".join(f"{letter} {value}" for letter, value in zip(letters, values, strict=True))
        if len(line) <= WIDTH:
            lines.append(line)
        else:
            lines += [f"  {name}:", *(f"    {letter} {value}" for letter, value in zip(letters, values, strict=True))]
    return lines


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
    label = max(len(name) for name, cells in rows if cells)
    columns = max(len(cells) for _, cells in rows)
    widths = [max(len(cells[i]) for _, cells in rows if len(cells) > i) for i in range(columns)]
    lines = []
    for name, cells in rows:
        values = "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths[: len(cells)], strict=True))
        lines.append(f"{name:<{label}}  {values}".rstrip() if cells else name)
    return "\n".join(lines)


def _union(lists: Any) -> list[str]:
    """Every name of `lists`, in the order they first appear."""
    return list(dict.fromkeys(name for names in lists for name in names))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any, digits: int) -> str:
    return f"{value:.{digits}f}" if _is_number(value) else "-"


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "[]"
    return str(value)
