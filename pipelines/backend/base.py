"""`Backend`: what the CPU and GPU paths share, and the declarations of what each spells its own way.

`CpuBackend` (cpu.py) and `GpuBackend` (gpu.py) implement every abstract method below; the methods written
here are the same on both because they reach the dataframe/array library only through `df` and `xp`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch


def csv_delimiter(path: Path | str) -> str:
    """Tab for a .tsv file, else a comma."""
    return "\t" if str(path).lower().endswith(".tsv") else ","


@dataclass(kw_only=True, frozen=True)
class Backend(ABC):
    """What differs between the CPU and GPU paths, behind one value."""

    name: str  # "cpu" | "gpu"
    df: ModuleType  # pandas | cudf
    xp: ModuleType  # numpy | cupy
    torch_device: torch.device
    device_name: str
    estimator_family: str  # "sklearn" | "cuml": the key of an estimator's class table

    @property
    def is_gpu(self) -> bool:
        return self.name == "gpu"

    @property
    @abstractmethod
    def xgboost_device(self) -> str:
        """XGBoost's `device` parameter: "cpu" or "cuda"."""

    # --- frames -----------------------------------------------------------------------------------
    @abstractmethod
    def read_parquet(self, paths: list[Path], columns: list[str] | None = None) -> Any:
        """Read one or more Parquet files into one frame of this backend."""

    def read_csv(self, path: Path) -> Any:
        return self.df.read_csv(str(path), sep=csv_delimiter(path))

    @abstractmethod
    def to_datetime(self, series: Any) -> Any:
        """A text column of ISO 8601 timestamps as timezone-naive datetimes (UTC where a value has an offset);
        a value that does not parse becomes null."""

    @abstractmethod
    def from_pandas(self, frame: Any) -> Any:
        """A pandas frame as a frame of this backend."""

    @abstractmethod
    def to_pandas(self, frame: Any) -> Any:
        """Host copy. Only for small tables (lookups, reports), never for the data path."""

    def head_values(self, series: Any, n: int = 3) -> list:
        """A few values as Python objects, for error messages."""
        return self.to_pandas(series.head(n)).tolist()

    def categorical_dtype(self, categories: list) -> Any:
        return self.df.CategoricalDtype(categories=categories)

    # --- arrays and the zero-copy handoff ---------------------------------------------------------
    @abstractmethod
    def column_view(self, series: Any) -> Any:
        """A zero-copy NumPy (CPU) or CuPy (GPU) view of a numeric column without nulls."""

    @abstractmethod
    def column_address(self, series: Any) -> int:
        """Address of the frame's own buffer for this column, read independently of `column_view`."""

    @abstractmethod
    def array_address(self, array: Any) -> int:
        """Address of an array's (NumPy or CuPy) first element."""

    @abstractmethod
    def to_numpy(self, array: Any) -> np.ndarray:
        """Host copy of an array: only for final metrics and reports."""

    def to_torch_array(self, array: Any) -> torch.Tensor:
        """An estimator's output (NumPy/CuPy/cuDF) as a tensor on the backend's device, zero-copy."""
        if hasattr(array, "values") and not isinstance(array, np.ndarray):  # pandas/cuDF containers
            array = array.values
        array = self.xp.ascontiguousarray(self.xp.asarray(array))
        return torch.from_dlpack(array)

    @abstractmethod
    def available_bytes(self) -> int:
        """Memory the run's frames can still take: host memory on the CPU, device memory on the GPU."""

    @abstractmethod
    def synchronize(self) -> None:
        """Wait for the device's queued work (timings); nothing to wait for on the CPU."""

    @abstractmethod
    def release_device_memory(self) -> None:
        """Give back the device memory that freed objects' caches still hold (after a tuning trial, before the
        next); nothing to give back on the CPU."""

    # --- estimators -------------------------------------------------------------------------------
    def estimator(self, classes: dict[str, str], **params: Any) -> Any:
        """Instantiate `classes[self.estimator_family]` ("module.Class") with `params` (and this backend's own)."""
        return load_class(classes[self.estimator_family])(**self._estimator_params(params))

    def cluster_estimator(self, classes: dict[str, str], client: Any, **params: Any) -> Any:
        """The family's estimator that fits on a Dask cluster's workers (`classes[family + ".dask"]`, with
        `params` and `client`), or None where this backend has none: scikit-learn has no Dask twins, so on the
        CPU the estimators fit in the run's process."""
        path = classes.get(f"{self.estimator_family}.dask")
        return None if path is None else load_class(path)(client=client, **self._estimator_params(params))

    @abstractmethod
    def _estimator_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` with the parameters this backend adds to every estimator it makes."""

    @abstractmethod
    def device_estimator(self, model: Any, classes: dict[str, str]) -> Any:
        """A loaded scikit-learn `model` on this backend's device; `classes` is its class table (as `estimator`)."""

    @abstractmethod
    def portable_estimator(self, model: Any) -> Any:
        """A scikit-learn twin of a fitted estimator, for saving."""

    def predict_scores(self, model: Any, frame: Any, task: str) -> torch.Tensor:
        """Positive-class probability (classification) or prediction (regression), as a device tensor."""
        if task == "classification":
            proba = model.predict_proba(frame)
            return self.to_torch_array(self.xp.asarray(proba)[:, 1])
        return self.to_torch_array(model.predict(frame))


def load_class(path: str) -> type:
    """The class at "module.Class"."""
    module_name, _, class_name = path.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)
