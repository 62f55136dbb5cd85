"""The feature set: what load, split and features produce, the input of every model family and of the report.

It lives with the features so that the families (pipelines.models) and the report read it without importing the
dataset recipes that make it (pipelines.datasets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.data.target import TargetInfo
from pipelines.features.workflow import Workflow


@dataclass
class OnWorkers:
    """A split's features and encoded target as a run with --cluster keeps them on the workers: a dask DataFrame
    and a dask Series of the same partitions, held there (persisted). The families that fit on the cluster read
    them in place (XGBoost's Dask interface, the processes of distributed training)."""

    frame: Any
    target: Any


@dataclass(kw_only=True)
class FeatureSet:
    """What load, split and features produce, computed or read back from the feature cache."""

    workflow: Workflow
    frames: dict[str, Any]  # split -> feature frame (float32 / int32 columns, no nulls)
    targets: dict[str, Any]  # split -> encoded target column, same backend
    target: TargetInfo
    inputs: dict[str, str]  # file -> sha256
    counts: dict[str, int]
    notes: list[str]
    cache: dict[str, Any] = field(default_factory=dict)  # key, hit, path
    profile: dict[str, Any] = field(default_factory=dict)  # the training rows' drift profile (pipelines.scoring.drift)
    null_share: Any = None  # share of nulls per loaded column, a series on the backend (the report's data summary)
    # split -> the same rows kept on the cluster's workers (a run with --cluster that computed its features)
    on_workers: dict[str, OnWorkers] = field(default_factory=dict)

    @property
    def rows(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.frames.items()}
