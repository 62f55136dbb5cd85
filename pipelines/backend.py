"""The compute backend: pandas/NumPy/scikit-learn/torch-CPU, or cuDF/CuPy/cuML/torch-CUDA.

This is the only module that imports RAPIDS (cudf, cupy, cuml, dask_cudf, rmm); a test enforces it.
Every other module uses the pandas API that cuDF shares, or asks the `Backend` for the piece that differs.

`select("auto")` takes the GPU only when RAPIDS imports *and* a CUDA device answers a real operation:
importing cudf succeeds on a machine without a GPU, and only the first operation fails.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import torch

from pipelines.errors import BackendUnavailable, ConfigError

CHOICES = ("auto", "cpu", "gpu")
# scikit-learn estimators that have a cuML twin of the same name, and the cuML module holding it.
CUML_TWINS = {
    "LogisticRegression": "cuml.linear_model",
    "Ridge": "cuml.linear_model",
    "RandomForestClassifier": "cuml.ensemble",
    "RandomForestRegressor": "cuml.ensemble",
}
ENV_VAR = "DEVICEPIPE_BACKEND"


@dataclass(frozen=True)
class Backend:
    """What differs between the CPU and GPU paths, behind one value."""

    name: str  # "cpu" | "gpu"
    df: ModuleType  # pandas | cudf
    xp: ModuleType  # numpy | cupy
    torch_device: torch.device
    device_name: str
    estimator_family: str  # "sklearn" | "cuml"

    @property
    def is_gpu(self) -> bool:
        return self.name == "gpu"

    @property
    def xgboost_device(self) -> str:
        return "cuda" if self.is_gpu else "cpu"

    # --- frames -----------------------------------------------------------------------------------
    def read_parquet(self, paths: list[Path], columns: list[str] | None = None) -> Any:
        """Read one or more Parquet files into one frame of this backend."""
        paths = [str(p) for p in paths]
        if self.is_gpu:
            return self.df.read_parquet(paths, columns=columns)
        frames = [pd.read_parquet(p, columns=columns) for p in paths]
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def read_csv(self, path: Path) -> Any:
        return self.df.read_csv(str(path))

    def from_pandas(self, frame: pd.DataFrame) -> Any:
        return self.df.from_pandas(frame) if self.is_gpu else frame

    def to_pandas(self, frame: Any) -> pd.DataFrame:
        """Host copy. Only for small tables (lookups, reports), never for the data path."""
        return frame.to_pandas() if self.is_gpu else frame

    def head_values(self, series: Any, n: int = 3) -> list:
        """A few values as Python objects, for error messages."""
        head = series.head(n)
        return (head.to_pandas() if self.is_gpu else head).tolist()

    def categorical_dtype(self, categories: list) -> Any:
        return self.df.CategoricalDtype(categories=categories)

    # --- arrays and the zero-copy handoff ---------------------------------------------------------
    def column_view(self, series: Any) -> Any:
        """A zero-copy NumPy (CPU) or CuPy (GPU) view of a numeric column without nulls."""
        if self.is_gpu:
            return series.values  # cupy view of the column's device buffer
        return series.to_numpy(copy=False)

    def column_address(self, series: Any) -> int:
        """Address of the frame's own buffer for this column, read independently of `column_view`."""
        if self.is_gpu:
            return int(series.__cuda_array_interface__["data"][0])
        return int(series.array._ndarray.__array_interface__["data"][0])

    def array_address(self, array: Any) -> int:
        if self.is_gpu:
            return int(array.data.ptr)
        return int(array.__array_interface__["data"][0])

    def to_numpy(self, array: Any) -> np.ndarray:
        """Host copy of an array: only for final metrics and reports."""
        if self.is_gpu and not isinstance(array, np.ndarray):
            return self.xp.asnumpy(array)
        return np.asarray(array)

    def to_torch_array(self, array: Any) -> torch.Tensor:
        """An estimator's output (NumPy/CuPy/cuDF) as a tensor on the backend's device, zero-copy."""
        if hasattr(array, "values") and not isinstance(array, np.ndarray):  # pandas/cuDF containers
            array = array.values
        array = self.xp.ascontiguousarray(self.xp.asarray(array))
        return torch.from_dlpack(array)

    # --- estimators -------------------------------------------------------------------------------
    def estimator(self, classes: dict[str, str], **params: Any) -> Any:
        """Instantiate `classes[self.estimator_family]` ("module.Class") with `params`."""
        path = classes[self.estimator_family]
        module_name, _, class_name = path.rpartition(".")
        if self.is_gpu:
            params = {**params, "output_type": "cupy"}  # predictions stay on the device as CuPy
        elif "n_estimators" in params:
            params = {"n_jobs": -1, **params}
        return getattr(importlib.import_module(module_name), class_name)(**params)

    def device_estimator(self, model: Any) -> Any:
        """A loaded scikit-learn model on this backend's device: cuML's `from_sklearn` twin on GPU."""
        if not self.is_gpu:
            return model
        name = type(model).__name__
        if name not in CUML_TWINS:
            return model
        return getattr(importlib.import_module(CUML_TWINS[name]), name).from_sklearn(model)

    def portable_estimator(self, model: Any) -> Any:
        """A scikit-learn twin of a fitted estimator, for saving (cuML's `as_sklearn`); CPU models as is."""
        return model.as_sklearn() if self.is_gpu else model

    def predict_scores(self, model: Any, frame: Any, task: str) -> torch.Tensor:
        """Positive-class probability (classification) or prediction (regression), as a device tensor."""
        if task == "classification":
            proba = model.predict_proba(frame)
            return self.to_torch_array(self.xp.asarray(proba)[:, 1])
        return self.to_torch_array(model.predict(frame))

    def synchronize(self) -> None:
        if self.is_gpu:
            torch.cuda.synchronize()


def module_of(frame: Any) -> ModuleType:
    """The dataframe module (pandas or cudf) that `frame` belongs to."""
    if type(frame).__module__.split(".")[0] == "cudf":
        return importlib.import_module("cudf")
    return pd


def select(requested: str | None = "auto", *, rmm_pool: bool = False, spill: bool = False) -> Backend:
    """The backend for `requested` ("auto" | "cpu" | "gpu"); `DEVICEPIPE_BACKEND` replaces "auto".

    `rmm_pool` and `spill` (GPU only) are applied while probing the device, before the probe creates the
    process's first cuDF object: cuDF reads its spill option once, when that first object is made.
    """
    choice = (requested or "auto").lower()
    if choice == "auto":
        choice = os.environ.get(ENV_VAR, "auto").lower() or "auto"
    if choice not in CHOICES:
        raise ConfigError(
            f"Unknown backend {choice!r}: expected one of {', '.join(CHOICES)}. "
            f"Check --backend and the {ENV_VAR} environment variable."
        )
    if choice == "cpu":
        return cpu_backend()
    reason = gpu_unusable_reason(rmm_pool=rmm_pool, spill=spill)
    if reason is None:
        return _gpu_backend()
    if choice == "gpu":
        raise BackendUnavailable(
            f"The GPU backend was requested but no usable GPU was found ({reason}). "
            "Install the RAPIDS extra (pip install 'devicepipe[gpu-cu13]') on a machine with a CUDA GPU, "
            "or run with --backend cpu."
        )
    return cpu_backend()


def cpu_backend() -> Backend:
    threads = torch.get_num_threads()
    return Backend("cpu", pd, np, torch.device("cpu"), f"CPU ({threads} torch threads)", "sklearn")


def gpu_unusable_reason(rmm_pool: bool = False, spill: bool = False) -> str | None:
    """None when RAPIDS imports and a CUDA device runs a real cuDF operation; else why not.

    With a device present, the memory settings (`configure_gpu_memory`) are applied before that operation.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return f"CUDA_VISIBLE_DEVICES={visible!r} hides every device"
    try:
        import cudf
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA runtime raised at import
        return f"RAPIDS is not importable: {type(exc).__name__}: {exc}"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device is visible"
        if not torch.cuda.is_available():
            return "torch was built without CUDA or cannot see the device"
    except Exception as exc:
        return f"the CUDA probe failed: {type(exc).__name__}: {exc}"
    configure_gpu_memory(pool=rmm_pool, spill=spill)  # a ConfigError here is the user's to see, not a reason
    try:
        if int(cudf.Series([1, 2]).sum()) != 3:
            return "a cuDF probe returned a wrong result"
    except Exception as exc:
        return f"the CUDA probe failed: {type(exc).__name__}: {exc}"
    return None


def _gpu_backend() -> Backend:
    import cudf
    import cupy

    device = torch.device("cuda", torch.cuda.current_device())
    return Backend("gpu", cudf, cupy, device, torch.cuda.get_device_name(device), "cuml")


_MEMORY: dict[str, bool] = {}


def configure_gpu_memory(pool: bool = False, spill: bool = False) -> dict[str, bool]:
    """Device memory settings, once per process, before the first cuDF object and torch's first allocation.

    `select` calls this while probing the device; call it directly only before anything touches the GPU.
    pool: one RMM pool allocator shared by cuDF, CuPy (rmm_cupy_allocator) and torch (rmm_torch_allocator),
    so the libraries reuse one another's freed memory instead of each caching its own.
    spill: cuDF spills device buffers to host memory when the device runs short (as CUDF_SPILL=on does),
    trading speed for fitting data near the device's size. The pool comes first: spilling on demand wraps
    whichever RMM resource is current when cuDF creates its spill manager.
    """
    wanted = {"rmm_pool": pool, "spill": spill}
    if _MEMORY:
        if wanted != _MEMORY:
            raise ConfigError(f"GPU memory was already configured as {_MEMORY} in this process; start a new one.")
        return dict(_MEMORY)
    if pool:
        import cupy
        import rmm
        from rmm.allocators.cupy import rmm_cupy_allocator
        from rmm.allocators.torch import rmm_torch_allocator

        if rmm_torch_allocator is None:  # rmm defines it only where torch has CUDA and pluggable allocators
            raise ConfigError(
                "--rmm-pool needs a CUDA build of torch with torch.cuda.memory.CUDAPluggableAllocator "
                f"(found torch {torch.__version__}); install a CUDA build of torch or run without --rmm-pool."
            )
        try:
            torch.cuda.memory.change_current_allocator(rmm_torch_allocator)
        except RuntimeError as exc:
            raise ConfigError(
                f"--rmm-pool must be set before torch first allocates on the GPU ({exc}); start a new process."
            ) from exc
        rmm.reinitialize(pool_allocator=True)
        cupy.cuda.set_allocator(rmm_cupy_allocator)
    if spill:
        import cudf
        from cudf.core.buffer.spill_manager import get_global_manager

        cudf.set_option("spill", True)
        if get_global_manager() is None:  # cuDF made its (spill-less) manager at the first cuDF object
            raise ConfigError(
                "--spill must be set before the process makes its first cuDF object; start a new process "
                "(or set CUDF_SPILL=on before starting Python)."
            )
    _MEMORY.update(wanted)
    return dict(_MEMORY)


def library_versions() -> dict[str, str]:
    """Versions of the libraries a run depends on, RAPIDS included where installed."""
    from importlib import metadata

    names = ["numpy", "pandas", "pyarrow", "scikit-learn", "xgboost", "torch", "prefect"]
    names += ["cudf-cu13", "cudf-cu12", "cuml-cu13", "cuml-cu12", "cupy-cuda13x", "cupy-cuda12x"]
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


# --- hooks for the feature ops (pipelines/features): the few pieces pandas and cuDF spell differently ---------
def hasher_of(frame: Any) -> str:
    """The name of the hash `hash_buckets` applies to `frame`'s values: hashed codes differ between them."""
    return "cudf" if module_of(frame) is not pd else "pandas"


def hash_buckets(series: Any, buckets: int) -> Any:
    """A bucket in [0, buckets) per value (int64): pandas' `hash_pandas_object`, cuDF's `hash_values`.

    The two libraries hash differently, so codes derived from these buckets are backend-specific.
    """
    on_pandas = module_of(series) is pd
    hashed = pd.util.hash_pandas_object(series, index=False) if on_pandas else series.hash_values()
    return (hashed % buckets).astype("int64")


def like(table: Any, frame: Any) -> Any:
    """`table` (a small lookup: pandas or cuDF) in `frame`'s dataframe module, copied only when they differ."""
    if module_of(table) is module_of(frame):
        return table
    if module_of(frame) is pd:
        return table.to_pandas()
    return module_of(frame).from_pandas(table)
