"""The runs of an output folder (`devicepipe runs [DIR]`), newest first, read from the manifest.json and
metrics.json that pipelines/runs/record.py writes. An interrupted run (`.incomplete-<name>`) or a folder that cannot be
read is listed as such with the reason, never a traceback. Host-only: JSON files, no frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError
from pipelines.evaluate import PRIMARY
from pipelines.files import MANIFEST
from pipelines.runs.rundir import CONFIG, INCOMPLETE, latest_name, running

METRICS = "metrics.json"
NAME_TIME = "%Y%m%dT%H%M%SZ"  # the start time that begins a run's name
EARLIEST = datetime.min.replace(tzinfo=UTC)


class Unreadable(Exception):
    """A run folder's files are missing, not JSON, or lack what the listing reads; the message says which."""


@dataclass(kw_only=True, frozen=True)
class Run:
    """One folder of the output folder, as the listing shows it."""

    name: str
    path: Path
    status: str  # "complete" | "running" | "incomplete" (interrupted) | "unreadable"
    started: datetime | None = None  # from the name
    latest: bool = False
    dataset: str | None = None
    data: str | None = None
    backend: str | None = None
    best_model: str | None = None
    metric: str | None = None  # the task's primary metric, on the test split
    value: float | None = None
    problem: str | None = None  # why a run is incomplete or unreadable, and what to do
    manifest: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None


def list_runs(root: Path | str) -> list[Run]:
    """Every run folder under `root`, newest first (by the start time in the name; other folders last)."""
    root = Path(root)
    if not root.exists():
        raise ConfigError(f"{root} does not exist: give the folder your runs are written to (run --output).")
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder: give the folder your runs are written to (run --output).")
    latest = latest_name(root)
    found = [read_run(path, latest=path.name == latest) for path in root.iterdir() if _listed(path)]
    return sorted(found, key=lambda run: (run.started is not None, run.started or EARLIEST, run.name), reverse=True)


def read_run(path: Path, latest: bool = False) -> Run:
    """The run at `path`: complete, incomplete (interrupted, resumable) or unreadable, with the reason."""
    name = path.name
    started = _started(name.removeprefix(INCOMPLETE))
    if name.startswith(INCOMPLETE):
        return _incomplete(path, started)
    try:
        if not (path / MANIFEST).exists():
            raise Unreadable(f"no {MANIFEST}: not a run (or not one this version wrote)")
        manifest, metrics = _json(path / MANIFEST), _json(path / METRICS)
        config, best = _key(manifest, "config", MANIFEST), _key(metrics, "best_model", METRICS)
        metric = PRIMARY.get(_key(metrics, "task", METRICS))
        value = _key(_key(_key(_key(metrics, "models", METRICS), best, METRICS), "test", METRICS), metric, METRICS)
        return Run(
            name=name,
            path=path,
            status="complete",
            started=started,
            latest=latest,
            dataset=config.get("dataset"),
            data=config.get("data"),
            backend=metrics.get("backend"),
            best_model=best,
            metric=metric,
            value=value,
            problem=None,
            manifest=manifest,
            metrics=metrics,
        )
    except Unreadable as exc:
        return Run(name=name, path=path, status="unreadable", started=started, latest=latest, problem=str(exc))


WIDTH = 80  # the terminal the tables are made for
SHOWN_STATUS = {"incomplete": "(interrupted)", "running": "(running)", "unreadable": "(unreadable)"}


def runs_table(found: list[Run], root: Path | str) -> str:
    """A table of `found` within WIDTH columns (the latest run marked *), then why each run that is not complete
    is so (an interrupted run's --resume command)."""
    if not found:
        return f"no runs in {root}"
    rows = [("run", "data", "backend", "best model", "test")]
    for run in found:
        value = f"{run.metric} {run.value:.4f}" if isinstance(run.value, int | float) else "-"
        data = Path(run.data).name if run.data else run.dataset  # your own table by its file; the default job's name
        best = run.best_model if run.status == "complete" else SHOWN_STATUS.get(run.status, run.status)
        name = run.name.removeprefix(INCOMPLETE)  # an interrupted run says so in its best model's place
        rows.append((name + (" *" if run.latest else ""), data or "-", run.backend or "-", best or "-", value))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    widths[1] = max(4, min(widths[1], WIDTH - sum(widths) + widths[1] - 2 * (len(widths) - 1)))
    lines = ["  ".join(_fit(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    latest = ["* the latest run (latest in the folder links to it)"] if any(run.latest for run in found) else []
    notes = [f"{run.name}: {run.problem}" for run in found if run.problem]
    return "\n".join([*lines, *latest, *(["", *notes] if notes else [])])


def _fit(cell: str, width: int) -> str:
    """`cell` left-aligned in `width` characters, cut with an ellipsis when longer."""
    return f"{cell:<{width}}" if len(cell) <= width else cell[: width - 1] + "\u2026"


def _incomplete(path: Path, started: datetime | None) -> Run:
    pid = running(path)
    status = "incomplete" if pid is None else "running"
    resume = f"interrupted; continue it with: devicepipe run --resume {path}"
    if pid is not None:
        resume = f"running (pid {pid}): still being written" if pid else "running: still being written"
    try:
        config = _json(path / CONFIG)
    except Unreadable as exc:
        return Run(
            name=path.name,
            path=path,
            status="incomplete",
            started=started,
            problem=f"interrupted, and cannot be resumed: {exc}",
        )
    return Run(
        name=path.name,
        path=path,
        status=status,
        started=started,
        dataset=config.get("dataset"),
        data=config.get("data"),
        backend=config.get("backend"),
        problem=resume,
    )


def _listed(path: Path) -> bool:
    """Run folders: visible folders, and the hidden folders of interrupted runs (not `latest`, locks, links)."""
    if path.is_symlink() or not path.is_dir():
        return False
    return not path.name.startswith(".") or path.name.startswith(INCOMPLETE)


def _started(name: str) -> datetime | None:
    try:
        return datetime.strptime(name.partition("-")[0], NAME_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def _json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise Unreadable(f"{path.name} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{path.name} cannot be read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise Unreadable(f"{path.name} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(document, dict):
        raise Unreadable(f"{path.name} holds a {type(document).__name__}, not an object")
    return document


def _key(document: Any, key: Any, file: str) -> Any:
    if not isinstance(document, dict) or key not in document:
        raise Unreadable(f"{file} lacks {key!r}")
    return document[key]
