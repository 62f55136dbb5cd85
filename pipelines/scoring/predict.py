"""Batch predictions from a run's inference bundle (runs/<id>/model/), on either backend, in a fresh process.

Every file of the bundle is checked against the sha256 in the run's manifest before anything is loaded: a
changed, missing or added file is refused. Models load without pickle: safetensors for the MLP, XGBoost JSON,
skops for scikit-learn, trusting only the types its family lists (the hash is one check: a manifest can be
rewritten with the files it hashes).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from pipelines.backend import Backend
from pipelines.config import RunConfig
from pipelines.data.split import sample_rows
from pipelines.datasets import recipe_for
from pipelines.errors import DataError, DevicepipeError, OutputError
from pipelines.features.workflow import Workflow
from pipelines.files import MANIFEST, atomic_path, check_writable, sha256_file, write_text_atomic, writing
from pipelines.models import Split, family
from pipelines.scoring import drift, threshold
from pipelines.scoring.bundle import CONTEXT, FOLDER, PROFILE

OUTPUT_COLUMNS = ("probability", "prediction")  # what write_predictions writes beside the --keep columns
OUT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".parq": "parquet", ".csv": "csv"}  # by --out's suffix


class TamperedBundle(DataError):
    """A bundle file does not match the sha256 recorded in the run's manifest."""


@dataclass(kw_only=True)
class Bundle:
    """A verified inference bundle: the run's manifest and metrics, its config and fitted workflow."""

    run_dir: Path
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    config: RunConfig
    workflow: Workflow
    profile: dict[str, Any] | None = None  # model/profile.json (pipelines.scoring.drift); None in runs made before it
    tables: dict[str, Path] | None = None  # the context tables it carries (bundle.CONTEXT); None: the recipe's own

    @property
    def task(self) -> str:
        return self.metrics["task"]

    @property
    def models(self) -> list[str]:
        return list(self.metrics["models"])


def open_bundle(run_dir: Path | str) -> Bundle:
    """Verify every bundle file against the manifest, then load the workflow."""
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST).exists():
        raise DataError(
            f"{run_dir} is not a completed run directory (no {MANIFEST}). Pass a runs/<id> folder or runs/latest."
        )
    run_dir = run_dir.resolve()
    with _reading(run_dir / MANIFEST):
        manifest = json.loads((run_dir / MANIFEST).read_text())
        recorded = dict(manifest["files"])
    present = {str(p.relative_to(run_dir)) for p in (run_dir / FOLDER).rglob("*") if p.is_file()}
    checked = {name for name in recorded if name.startswith("model/")} | present | {"metrics.json"}
    for name in sorted(checked):
        path = run_dir / name
        if name not in recorded:
            raise TamperedBundle(f"{path} is not in the run's manifest: the bundle was changed; refusing to load it.")
        if not path.exists() or sha256_file(path) != recorded[name]:
            raise TamperedBundle(
                f"{path} does not match the sha256 in {run_dir / MANIFEST}: the file was changed or is missing. "
                "Refusing to load it; use an untouched copy of the run."
            )
    with _reading(run_dir / "metrics.json"):
        metrics = json.loads((run_dir / "metrics.json").read_text())
        lacking = [key for key in ("best_model", "models", "task") if key not in metrics]  # what scoring reads
        if lacking:
            raise KeyError(f"no {', '.join(lacking)}")
    with _reading(run_dir / MANIFEST):
        config = RunConfig.from_dict(manifest["config"])
    profile_path = run_dir / FOLDER / PROFILE
    with _reading(profile_path):
        profile = json.loads(profile_path.read_text()) if profile_path.exists() else None
    with _reading(run_dir / FOLDER / "workflow.json"):
        workflow = Workflow.load(run_dir / FOLDER / "workflow.json")
    tables = {path.name: path for path in sorted((run_dir / CONTEXT).glob("*")) if path.is_dir()} or None
    return Bundle(
        run_dir=run_dir,
        manifest=manifest,
        metrics=metrics,
        config=config,
        workflow=workflow,
        profile=profile,
        tables=tables,
    )


@contextmanager
def _reading(what: Path | str) -> Iterator[None]:
    """A bundle file its manifest vouches for that still cannot be read (the file and the manifest's hashes were
    both rewritten, or a bug wrote it): a TamperedBundle naming it, not a traceback."""
    try:
        yield
    except DevicepipeError:
        raise
    except Exception as exc:
        said = (str(exc).strip().splitlines() or [""])[0][:200]
        raise TamperedBundle(
            f"{what} could not be read ({type(exc).__name__}: {said}), though the manifest lists it: the run folder "
            "is damaged. Use an untouched copy of the run, or train again."
        ) from exc


def check_out(out: Path | str, data: Path | str, bundle: Bundle) -> Path:
    """Refuse, before any row is read, an --out that names a folder or no format written here (OUT_FORMATS), or
    that would overwrite an input, land among the files `data` names (the next read would take the predictions
    for rows), or change the run's folder; then check its folder is writable."""
    path = Path(out).expanduser()
    if path.is_dir():
        raise OutputError(
            f"--out {path} is a folder; expected a file name ending in .parquet or .csv. Name the file, for example "
            f"--out {path / 'predictions.parquet'}."
        )
    if path.suffix.lower() not in OUT_FORMATS:
        found = f"ends in {path.suffix!r}" if path.suffix else "has no suffix"
        raise OutputError(
            f"--out {path} {found}; expected .parquet (or .pq, .parq) for Parquet, or .csv for CSV. Give --out one "
            "of these suffixes."
        )
    target = path.resolve()
    for file in recipe_for(bundle.config).files_to_score(data, bundle.tables):
        if file.resolve() == target:
            raise OutputError(
                f"--out {path} is an input file ({file}); the predictions would overwrite it. Choose another --out."
            )
    folder = Path(data).expanduser()
    among = folder.is_dir() and target.is_relative_to(folder.resolve())
    if among or (any(ch in str(data) for ch in "*?[") and fnmatch.fnmatch(str(path), str(data))):
        raise OutputError(
            f"--out {path} is among the files --data {data} names: the next read of {data} would take the "
            "predictions for rows. Write them outside it."
        )
    if target.is_relative_to(bundle.run_dir):
        raise OutputError(
            f"--out {path} is inside the run folder {bundle.run_dir}, whose files its manifest records. Write the "
            "predictions outside it."
        )
    check_writable(path.parent, "--out")
    return path


def read_rows(bundle: Bundle, data: Path | str, backend: Backend) -> Any:
    """New rows shaped as the training rows were, by the run's dataset recipe (flights join their context)."""
    return recipe_for(bundle.config).rows_to_score(data, backend, bundle.tables)


def score_rows(bundle: Bundle, rows: Any, backend: Backend, model: str | None = None) -> torch.Tensor:
    """Probability of the positive class (classification) or the prediction (regression), per row, in order."""
    name = model or bundle.metrics["best_model"]
    if name not in bundle.models:
        raise DataError(f"Model {name!r} is not in {bundle.run_dir}: it has {', '.join(bundle.models)}.")
    features = bundle.workflow.transform(rows)
    adapter = family(name)
    files = ", ".join(f.format(name=name) for f in adapter.files) or "its files"
    with _reading(f"Model {name!r} ({files} in {bundle.run_dir / FOLDER})"):
        loaded = adapter.load(bundle.run_dir / FOLDER, bundle.task, backend, bundle.workflow)
        return loaded.predict(Split(features))


def write_predictions(
    path: Path | str,
    scores: torch.Tensor,
    bundle: Bundle,
    backend: Backend,
    rows: Any = None,
    keep: list[str] | None = None,
    cut: float = threshold.DEFAULT,
) -> Path:
    """`keep` columns of the input, then `probability` and `prediction` (the positive class from the probability
    `cut`), or `prediction`: Parquet, or CSV for a `path` ending in .csv (check_out refuses other suffixes)."""
    table: dict[str, Any] = {}
    for column in keep or []:
        if rows is None or column not in rows.columns:
            raise DataError(f"--keep {column!r}: no such column in the input.")
        if column in OUTPUT_COLUMNS:
            raise DataError(
                f"--keep {column!r}: the predictions file has its own {column!r} column, which would overwrite the "
                f"input's. Keep the other columns, or rename {column!r} in the input."
            )
        table[column] = backend.to_pandas(rows[column]).to_numpy()
    predicted = predictions_frame(scores, bundle, backend, cut)
    frame = pd.DataFrame({**table, **{column: predicted[column].to_numpy() for column in predicted.columns}})
    path = Path(path)
    with writing("the predictions", "--out"), atomic_path(path) as tmp:
        if OUT_FORMATS.get(path.suffix.lower()) == "csv":
            frame.to_csv(tmp, index=False)
        else:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    return path


def predictions_frame(
    scores: torch.Tensor, bundle: Bundle, backend: Backend, cut: float = threshold.DEFAULT
) -> pd.DataFrame:
    """The predictions as a pandas frame: `probability` of the positive class and the `prediction` (the positive
    class when the probability is at least `cut`) for classification, the `prediction` for regression."""
    values = backend.to_numpy(scores.detach().float().contiguous())
    if bundle.task != "classification":
        return pd.DataFrame({"prediction": values})
    classes = bundle.manifest["target"]["classes"]
    return pd.DataFrame({"probability": values, "prediction": np.where(values >= cut, classes[1], classes[0])})


def drift_report(
    bundle: Bundle, rows: Any, scores: torch.Tensor, model: str | None, warn: float, alert: float, seed: int = 0
) -> dict[str, Any] | None:
    """PSI of the new rows (at most drift.PROFILE_ROWS of them) and of `model`'s predictions against the
    training profile in the bundle; None for a run saved without one."""
    if bundle.profile is None:
        return None
    name = model or bundle.metrics["best_model"]
    sample = rows
    if len(rows) > drift.PROFILE_ROWS:
        sample = sample_rows(rows, drift.PROFILE_ROWS / len(rows), seed)
    notes = recipe_for(bundle.config).score_notes(rows, bundle.profile)  # e.g. a partial schedule of flights
    return {"model": name, **drift.measure(bundle.profile, sample, {name: scores}, warn, alert), "notes": notes}


def drift_path(predictions: Path | str) -> Path:
    """Where the drift report of a predictions file goes: beside it, `<name>.drift.json`."""
    path = Path(predictions)
    return path.with_name(f"{path.stem}.drift.json")


def write_drift(predictions: Path | str, report: dict[str, Any]) -> Path:
    """The drift report as JSON beside the predictions, atomically."""
    return write_text_atomic(drift_path(predictions), json.dumps(report, indent=1) + "\n")
