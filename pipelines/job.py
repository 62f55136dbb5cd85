"""The train pipeline's stages as plain functions: each takes what the previous one returned.

flows/train.py wraps each as a Prefect task; a notebook can call them in the same order.
Frames stay in the backend's memory (host for pandas, device for cuDF) from load to the end of training.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipelines import baselines, evaluate, flights
from pipelines.backend import Backend
from pipelines.config import RunConfig
from pipelines.data import sha256_file, stage_flights
from pipelines.errors import DataError
from pipelines.features.recipes import from_column_types
from pipelines.features.workflow import Part, Workflow
from pipelines.handoff import stack_columns, to_torch
from pipelines.load import Source, load, require_columns, resolve
from pipelines.split import random_split, time_fraction_split, time_split
from pipelines.target import TARGET, TargetInfo, encode_target
from pipelines.train import DeviceData, TrainConfig, TrainResult, predict, train_mlp

MLP = "mlp"
FLIGHT_TABLES = ("flights", "weather", "planes")


@dataclass
class Dataset:
    """The loaded, validated table with its encoded target, and what loading noticed."""

    frame: Any
    target: TargetInfo
    time_column: str | None
    exclude: list[str]
    inputs: dict[str, str]  # file -> sha256
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Features:
    workflow: Workflow
    frames: dict[str, Any]  # split -> feature frame
    targets: dict[str, Any]  # split -> target column (same backend)
    notes: list[str] = field(default_factory=list)


@dataclass
class FeatureSet:
    """Everything the rest of a run needs from load, split and features, computed or from the cache."""

    features: Features
    target: TargetInfo
    inputs: dict[str, str]  # file -> sha256
    counts: dict[str, int]
    notes: list[str]
    rows: dict[str, int]
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass
class Handoff:
    data: dict[str, DeviceData]
    check: dict[str, Any]
    assembled_bytes: int


def check_inputs(config: RunConfig) -> Source | None:
    """Fail fast on bad input (missing file, corrupt Parquet, unknown columns) before any work starts."""
    config.check()
    if config.is_default_job:
        return None
    source = resolve(config.data)
    require_columns(source, [config.target], "target column")
    if config.time_column:
        require_columns(source, [config.time_column], "time column")
    if config.drop:
        require_columns(source, list(config.drop), "column to drop")
    return source


def input_files(config: RunConfig) -> list[Path]:
    """The files a run reads: the staged flights tables for the default job, else the resolved input."""
    if config.is_default_job:
        paths = stage_flights(Path(config.data_dir))
        return [paths[name] for name in FLIGHT_TABLES]
    return list(resolve(config.data).files)


def hash_inputs(config: RunConfig) -> dict[str, str]:
    """sha256 of every input file, for the manifest and the feature cache key."""
    return {str(path): sha256_file(path) for path in input_files(config)}


def load_dataset(config: RunConfig, backend: Backend) -> Dataset:
    """Load and validate the input; drop rows without a target; encode the target."""
    if config.is_default_job:
        return _load_flights(config, backend)
    source = check_inputs(config)
    frame = load(source, backend)
    frame = _sample(frame, config)
    frame = frame.drop(columns=list(config.drop)) if config.drop else frame
    rows = len(frame)
    frame, target = encode_target(frame, config.target, config.task, backend)
    exclude = [config.target, TARGET] + ([config.time_column] if config.time_column else [])
    counts = {"rows_loaded": rows, "dropped_missing_target": target.dropped_missing}
    return Dataset(frame, target, config.time_column, exclude, hash_inputs(config), counts)


def _load_flights(config: RunConfig, backend: Backend) -> Dataset:
    paths = dict(zip(FLIGHT_TABLES, input_files(config), strict=True))
    tables = {name: load(resolve(paths[name]), backend) for name in FLIGHT_TABLES}
    tables["flights"] = _sample(tables["flights"], config)
    prepared = flights.prepare(tables["flights"], tables["weather"], tables["planes"], backend)
    frame, target = encode_target(prepared.frame, flights.TARGET, "classification", backend)
    inputs = {str(path): sha256_file(path) for path in paths.values()}
    counts = {"rows_loaded": prepared.rows_in, "dropped_cancelled": prepared.dropped_cancelled}
    notes = [
        f"dropped {prepared.dropped_cancelled} cancelled or diverted flights (no arr_delay)",
        f"never used (known only after departure): {', '.join(flights.LEAKAGE)}",
    ]
    return Dataset(frame, target, flights.TIME_COLUMN, [flights.TARGET, TARGET], inputs, counts, notes)


def _sample(frame: Any, config: RunConfig) -> Any:
    """`config.sample` of the rows, in their order. The positions are drawn on the host with NumPy, so the same
    seed keeps the same rows on every backend (pandas' and cuDF's own `sample` draw differently)."""
    if config.sample is None or config.sample >= 1:
        return frame
    rows = len(frame)
    size = max(1, round(rows * config.sample))
    keep = np.sort(np.random.default_rng(config.seed).choice(rows, size=size, replace=False))
    return frame.take(keep).reset_index(drop=True)


def split_dataset(dataset: Dataset, config: RunConfig, backend: Backend) -> dict[str, Part]:
    """Default job: Jan-Sep / Oct / Nov-Dec. Own data: 70/15/15 by time, else seeded random."""
    if config.is_default_job:
        return time_split(dataset.frame, flights.TIME_COLUMN, flights.VALID_START, flights.TEST_START)
    if dataset.time_column:
        return time_fraction_split(dataset.frame, dataset.time_column)
    return random_split(dataset.frame, backend, seed=config.seed)


def fit_features(dataset: Dataset, parts: dict[str, Part], config: RunConfig) -> Features:
    """Fit the feature workflow on train only; transform every split."""
    if config.is_default_job:
        workflow, notes = flights.workflow(), []
    else:
        workflow, notes = from_column_types(parts["train"], dataset.exclude)
    workflow.fit(parts["train"])
    frames = {name: workflow.transform(part) for name, part in parts.items()}
    targets = {name: part.frame[TARGET] for name, part in parts.items()}
    return Features(workflow, frames, targets, notes)


def hand_off(features: Features, backend: Backend) -> Handoff:
    """Zero-copy tensors per column, then the numeric and code matrices assembled on the device."""
    workflow = features.workflow
    data, checks, assembled = {}, {}, 0
    for name, frame in features.frames.items():
        # The workflow's output check has just ruled out nulls: the handoff need not read every value again.
        tensors, check = to_torch(frame, workflow.columns, backend, check_nulls=False)
        target, target_check = to_torch(features.targets[name].to_frame(), [TARGET], backend)
        numeric, numeric_bytes = _stack(tensors, workflow.numeric_, frame, torch.float32)
        codes, codes_bytes = _stack(tensors, workflow.categorical_, frame, torch.int32)
        assembled += numeric_bytes + codes_bytes
        data[name] = DeviceData(numeric, codes, target[TARGET])
        check.columns.update(target_check.columns)
        checks[name] = check.as_dict()
    summary = {"zero_copy": all(c["zero_copy"] for c in checks.values()), "splits": checks}
    return Handoff(data, summary, assembled)


def _stack(
    tensors: dict[str, torch.Tensor], columns: list[str], frame: Any, dtype: torch.dtype
) -> tuple[torch.Tensor, int]:
    if not columns:
        device = next(iter(tensors.values())).device
        return torch.zeros((len(frame), 0), dtype=dtype, device=device), 0
    return stack_columns([tensors[c] for c in columns])


def fit_baselines(
    features: Features,
    config: RunConfig,
    backend: Backend,
) -> dict[str, baselines.FittedBaseline]:
    fitted = {}
    labels = features.targets
    if config.task == "classification":  # class labels as integers (cuML's classifiers require them)
        labels = {split: target.astype("int32") for split, target in labels.items()}
    for name in config.baselines or baselines.names(config.task):
        if name not in baselines.names(config.task):
            raise DataError(f"Unknown baseline {name!r}: expected any of {baselines.names(config.task)}.")
        fitted[name] = baselines.fit(
            name,
            config.task,
            features.frames["train"],
            labels["train"],
            features.frames["valid"],
            labels["valid"],
            backend,
        )
    return fitted


def score_baselines(
    fitted: dict[str, baselines.FittedBaseline],
    features: Features,
    handoff: Handoff,
    config: RunConfig,
    backend: Backend,
) -> dict[str, dict[str, Any]]:
    scores = {}
    for name, model in fitted.items():
        scores[name] = {
            split: evaluate.score(
                config.task,
                handoff.data[split].y,
                baselines.predict(model, features.frames[split], config.task, backend),
            )
            for split in ("valid", "test")
        }
        scores[name]["fit_seconds"] = round(model.fit_seconds, 3)
    return scores


def train_network(
    handoff: Handoff, features: Features, config: RunConfig, progress: bool = True, checkpoint: Path | None = None
) -> tuple[TrainResult, dict[str, Any]]:
    """Train the MLP (resuming from `checkpoint` when it exists) and score it on valid and test."""
    cardinalities = [features.workflow.cardinalities_[c] for c in features.workflow.categorical_]
    train_config = TrainConfig(epochs=config.epochs, seed=config.seed)
    started = time.perf_counter()
    result = train_mlp(
        handoff.data["train"],
        handoff.data["valid"],
        cardinalities,
        config.task,
        train_config,
        progress=progress,
        checkpoint=checkpoint,
    )
    seconds = time.perf_counter() - started
    scores = {
        split: evaluate.score(
            config.task,
            handoff.data[split].y,
            predict(result.model, handoff.data[split], config.task, result.target_mean, result.target_std),
        )
        for split in ("valid", "test")
    }
    scores["fit_seconds"] = round(seconds, 3)
    return result, scores


def feature_set(dataset: Dataset, parts: dict[str, Part], features: Features) -> FeatureSet:
    """What load, split and features produced, in the form the cache stores."""
    rows = {name: len(part) for name, part in parts.items()}
    notes = dataset.notes + features.notes
    return FeatureSet(features, dataset.target, dataset.inputs, dataset.counts, notes, rows)


def cached_feature_set(entry: dict[str, Any], inputs: dict[str, str], key: str, path: Path) -> FeatureSet:
    """A FeatureSet rebuilt from a cache entry (see pipelines.cache)."""
    meta = entry["meta"]
    features = Features(entry["workflow"], entry["frames"], entry["targets"], [])
    cache = {"key": key, "hit": True, "path": str(path)}
    return FeatureSet(features, meta["target"], inputs, meta["counts"], meta["notes"], meta["rows"], cache)


def metrics_document(
    data: FeatureSet, scores: dict[str, dict[str, Any]], config: RunConfig, backend: Backend
) -> dict[str, Any]:
    """metrics.json as DESIGN.md specifies; the best model is chosen on the validation split."""
    primary = evaluate.PRIMARY[config.task]
    best = None
    for name, score in scores.items():
        if best is None or evaluate.is_better(primary, score["valid"][primary], scores[best]["valid"][primary]):
            best = name
    return {
        "task": config.task,
        "target": data.target.column,
        "backend": backend.name,
        "rows": data.rows,
        "models": scores,
        "best_model": best,
    }
