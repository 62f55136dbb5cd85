"""Batch predictions from a run's inference bundle (runs/<id>/model/), on either backend, in a fresh process.

Every file of the bundle is checked against the sha256 in the run's manifest before anything is loaded: a
changed, missing or added file is refused. Models load without pickle: safetensors for the MLP, XGBoost JSON,
skops for scikit-learn, trusting only the types its family lists (the hash is one check: a manifest can be
rewritten with the files it hashes).
"""

from __future__ import annotations

import json
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
from pipelines.errors import DataError
from pipelines.features.workflow import Workflow
from pipelines.files import MANIFEST, atomic_path, sha256_file, write_text_atomic, writing
from pipelines.models import Split, family
from pipelines.scoring import drift
from pipelines.scoring.bundle import FOLDER, PROFILE

OUTPUT_COLUMNS = ("probability", "prediction")  # what write_predictions writes beside the --keep columns


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
    manifest = json.loads((run_dir / MANIFEST).read_text())
    recorded = manifest.get("files", {})
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
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = RunConfig.from_dict(manifest["config"])
    profile_path = run_dir / FOLDER / PROFILE
    profile = json.loads(profile_path.read_text()) if profile_path.exists() else None
    return Bundle(
        run_dir=run_dir,
        manifest=manifest,
        metrics=metrics,
        config=config,
        workflow=Workflow.load(run_dir / FOLDER / "workflow.json"),
        profile=profile,
    )


def read_rows(bundle: Bundle, data: Path | str, backend: Backend) -> Any:
    """New rows shaped as the training rows were, by the run's dataset recipe (flights join their context)."""
    return recipe_for(bundle.config).rows_to_score(data, backend)


def score_rows(bundle: Bundle, rows: Any, backend: Backend, model: str | None = None) -> torch.Tensor:
    """Probability of the positive class (classification) or the prediction (regression), per row, in order."""
    name = model or bundle.metrics["best_model"]
    if name not in bundle.models:
        raise DataError(f"Model {name!r} is not in {bundle.run_dir}: it has {', '.join(bundle.models)}.")
    features = bundle.workflow.transform(rows)
    loaded = family(name).load(bundle.run_dir / FOLDER, bundle.task, backend, bundle.workflow)
    return loaded.predict(Split(features))


def write_predictions(
    path: Path | str,
    scores: torch.Tensor,
    bundle: Bundle,
    backend: Backend,
    rows: Any = None,
    keep: list[str] | None = None,
) -> Path:
    """Parquet with `keep` columns of the input, then `probability` and `prediction` (or `prediction`)."""
    values = backend.to_numpy(scores.detach().float().contiguous())
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
    if bundle.task == "classification":
        classes = bundle.manifest["target"]["classes"]
        table["probability"] = values
        table["prediction"] = np.where(values >= 0.5, classes[1], classes[0])
    else:
        table["prediction"] = values
    frame = pd.DataFrame(table)
    path = Path(path)
    with writing("the predictions", "--out"), atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    return path


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
    return {"model": name, **drift.measure(bundle.profile, sample, {name: scores}, warn, alert)}


def drift_path(predictions: Path | str) -> Path:
    """Where the drift report of a predictions file goes: beside it, `<name>.drift.json`."""
    path = Path(predictions)
    return path.with_name(f"{path.stem}.drift.json")


def write_drift(predictions: Path | str, report: dict[str, Any]) -> Path:
    """The drift report as JSON beside the predictions, atomically."""
    return write_text_atomic(drift_path(predictions), json.dumps(report, indent=1) + "\n")
