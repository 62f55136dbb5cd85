"""The GPU backend: cuDF frames, CuPy arrays, cuML estimators, torch on CUDA.

Every cuDF/CuPy/cuML call of the backend's methods is here. RAPIDS is imported inside functions (or reached
through `df`/`xp`, which hold cudf/cupy), so importing this module works where RAPIDS is not installed.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipelines.backend.base import Backend, load_class
from pipelines.backend.host import available_host_bytes
from pipelines.backend.memory import configured_memory
from pipelines.backend.timestamps import parse_iso8601


@dataclass(kw_only=True, frozen=True)
class GpuBackend(Backend):
    """cuDF frames, CuPy arrays, cuML estimators (output_type="cupy"), torch on a CUDA device."""

    @property
    def xgboost_device(self) -> str:
        return "cuda"

    def available_bytes(self) -> int:
        """Free device memory (all of it under an RMM pool, which holds its reservation as used); with cuDF
        spilling on, host memory too (frames spill there)."""
        free, total = torch.cuda.mem_get_info(self.torch_device)
        settings = configured_memory()
        device = total if settings.get("rmm_pool") else free
        return device + (available_host_bytes() if settings.get("spill") else 0)

    def read_parquet(self, paths: list[Path], columns: list[str] | None = None) -> Any:
        return self.df.read_parquet([str(p) for p in paths], columns=columns)

    def to_datetime(self, series: Any) -> Any:
        """Parsed on the device by column arithmetic (timestamps.parse_iso8601): cuDF's own to_datetime refuses
        errors="coerce" on a column and takes one format, inferred from the first value, for all."""
        return parse_iso8601(series)

    def from_pandas(self, frame: Any) -> Any:
        return self.df.from_pandas(frame)

    def to_pandas(self, frame: Any) -> Any:
        return frame.to_pandas()

    def column_view(self, series: Any) -> Any:
        return series.values  # a CuPy view of the column's device buffer

    def column_address(self, series: Any) -> int:
        return int(series.__cuda_array_interface__["data"][0])

    def array_address(self, array: Any) -> int:
        return int(array.data.ptr)

    def to_numpy(self, array: Any) -> np.ndarray:
        """CuPy arrays and CUDA tensors (`__cuda_array_interface__`) are copied to the host; NumPy as is."""
        if isinstance(array, np.ndarray):
            return np.asarray(array)
        return self.xp.asnumpy(array)

    def synchronize(self) -> None:
        torch.cuda.synchronize()

    def release_device_memory(self) -> None:
        """A finished fit's booster and tensors collected, then CuPy's pool and torch's cache emptied (unverified on
        a GPU): XGBoost's device memory otherwise grows from trial to trial."""
        gc.collect()
        self.xp.get_default_memory_pool().free_all_blocks()
        torch.cuda.empty_cache()

    def _estimator_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Predictions stay on the device as CuPy arrays."""
        return {**params, "output_type": "cupy"}

    def device_estimator(self, model: Any, classes: dict[str, str]) -> Any:
        """cuML's twin of a saved scikit-learn model (`classes["cuml"]`'s `from_sklearn`), on the device, predicting
        to CuPy as a fitted one does (`from_sklearn` sets "numpy", which would copy every prediction to the host)."""
        twin = load_class(classes["cuml"]).from_sklearn(model)
        twin.output_type = "cupy"
        return twin

    def portable_estimator(self, model: Any) -> Any:
        """cuML's `as_sklearn`: the file loads anywhere, and `device_estimator` brings it back."""
        return model.as_sklearn()


def gpu_backend() -> GpuBackend:
    """The GPU backend on torch's current CUDA device. Only after the device probe (`probe.select`) succeeded."""
    import cudf
    import cupy

    device = torch.device("cuda", torch.cuda.current_device())
    return GpuBackend(
        name="gpu",
        df=cudf,
        xp=cupy,
        torch_device=device,
        device_name=torch.cuda.get_device_name(device),
        estimator_family="cuml",
    )
