"""Batch predictions from a run's inference bundle (runs/<id>/model/), on either backend, in a fresh process.

Every file of the bundle is checked against the sha256 in the run's manifest before anything is loaded: a
changed, missing or added file is refused. Models load without pickle: safetensors for the MLP, XGBoost JSON,
skops for scikit-learn (whose types are then trusted because the file's hash matched).
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

from pipelines import baselines, flights
from pipelines.atomic import atomic_path
from pipelines.backend import Backend
from pipelines.config import RunConfig
from pipelines.data import sha256_file, stage_flights
from pipelines.errors import DataError
from pipelines.features.workflow import Workflow
from pipelines.handoff import stack_columns, to_torch
from pipelines.load import load, resolve
from pipelines.model import TabularMLP
from pipelines.rundir import MANIFEST
from pipelines.train import DeviceData, predict

MLP = "mlp"


class TamperedBundle(DataError):
    """A bundle file does not match the sha256 recorded in the run's manifest."""


@dataclass
class Bundle:
    """A verified inference bundle: the run's manifest and metrics, its config and fitted workflow."""

    run_dir: Path
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    config: RunConfig
    workflow: Workflow

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
    present = {str(p.relative_to(run_dir)) for p in (run_dir / "model").rglob("*") if p.is_file()}
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
    config = RunConfig(**manifest["config"])
    return Bundle(run_dir, manifest, metrics, config, Workflow.load(run_dir / "model" / "workflow.json"))


def read_rows(bundle: Bundle, data: Path | str, backend: Backend) -> Any:
    """New rows shaped as the training rows were (the default job joins weather and planes)."""
    frame = load(resolve(data), backend)
    if bundle.config.is_default_job:
        paths = stage_flights(Path(bundle.config.data_dir))
        weather, planes = (load(resolve(paths[name]), backend) for name in ("weather", "planes"))
        return flights.join_context(frame, weather, planes, backend)
    drop = [c for c in bundle.config.drop if c in frame.columns]
    return frame.drop(columns=drop) if drop else frame


def score_rows(bundle: Bundle, rows: Any, backend: Backend, model: str | None = None) -> torch.Tensor:
    """Probability of the positive class (classification) or the prediction (regression), per row, in order."""
    name = model or bundle.metrics["best_model"]
    if name not in bundle.models:
        raise DataError(f"Model {name!r} is not in {bundle.run_dir}: it has {', '.join(bundle.models)}.")
    features = bundle.workflow.transform(rows)
    if name == MLP:
        return _score_mlp(bundle, features, backend)
    fitted = baselines.FittedBaseline(name, _load_baseline(bundle, name, backend), 0.0)
    return baselines.predict(fitted, features, bundle.task, backend)


def _score_mlp(bundle: Bundle, features: Any, backend: Backend) -> torch.Tensor:
    from safetensors.torch import load_file

    spec = json.loads((bundle.run_dir / "model" / "mlp.json").read_text())
    model = TabularMLP(spec["n_numeric"], spec["cardinalities"], tuple(spec["hidden"]), spec["dropout"], spec["norm"])
    model.load_state_dict(load_file(bundle.run_dir / "model" / "mlp.safetensors", device=str(backend.torch_device)))
    model.to(backend.torch_device)
    workflow = bundle.workflow
    tensors, _ = to_torch(features, workflow.columns, backend)
    numeric = _matrix(tensors, workflow.numeric_, len(features), torch.float32, backend)
    codes = _matrix(tensors, workflow.categorical_, len(features), torch.int32, backend)
    data = DeviceData(numeric, codes, torch.empty(0, device=backend.torch_device))
    return predict(model, data, bundle.task, spec["target_mean"], spec["target_std"])


def _matrix(tensors: dict, columns: list[str], rows: int, dtype: torch.dtype, backend: Backend) -> torch.Tensor:
    if not columns:
        return torch.zeros((rows, 0), dtype=dtype, device=backend.torch_device)
    return stack_columns([tensors[c] for c in columns])[0]


def _load_baseline(bundle: Bundle, name: str, backend: Backend) -> Any:
    path = bundle.run_dir / "model" / (f"{name}.json" if name == "xgboost" else f"{name}.skops")
    if name == "xgboost":
        import xgboost

        model = xgboost.XGBClassifier() if bundle.task == "classification" else xgboost.XGBRegressor()
        model.load_model(str(path))
        model.set_params(device=backend.xgboost_device)
        return model
    import skops.io

    # The file's sha256 matched the manifest (open_bundle), so the types it names are the ones saved.
    model = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    return backend.device_estimator(model)


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
        table[column] = backend.to_pandas(rows[column]).to_numpy()
    if bundle.task == "classification":
        classes = bundle.manifest["target"]["classes"]
        table["probability"] = values
        table["prediction"] = np.where(values >= 0.5, classes[1], classes[0])
    else:
        table["prediction"] = values
    frame = pd.DataFrame(table)
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    return path
