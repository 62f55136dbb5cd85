"""The CPU backend: pandas, NumPy, scikit-learn and torch on the CPU. Nothing here imports RAPIDS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from pipelines.backend.base import Backend
from pipelines.backend.host import available_host_bytes
from pipelines.backend.timestamps import ISO_8601


@dataclass(kw_only=True, frozen=True)
class CpuBackend(Backend):
    """pandas frames, NumPy arrays, scikit-learn estimators, torch on the CPU."""

    @property
    def xgboost_device(self) -> str:
        return "cpu"

    def read_parquet(self, paths: list[Path], columns: list[str] | None = None) -> pd.DataFrame:
        frames = [pd.read_parquet(str(p), columns=columns) for p in paths]
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def to_datetime(self, series: pd.Series) -> pd.Series:
        """pandas' ISO 8601 parser, kept to the shapes the GPU backend parses (timestamps.ISO_8601): pandas alone
        would also take 2024/01/31 or a bare year."""
        text = series.str.strip()
        parsed = pd.to_datetime(text.where(text.str.fullmatch(ISO_8601)), format="ISO8601", errors="coerce", utc=True)
        return parsed.dt.tz_localize(None)

    def from_pandas(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    def to_pandas(self, frame: Any) -> Any:
        return frame

    def column_view(self, series: pd.Series) -> np.ndarray:
        return series.to_numpy(copy=False)

    def column_address(self, series: pd.Series) -> int:
        return int(series.array._ndarray.__array_interface__["data"][0])

    def array_address(self, array: np.ndarray) -> int:
        return int(array.__array_interface__["data"][0])

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array)

    def available_bytes(self) -> int:
        return available_host_bytes()

    def synchronize(self) -> None:
        return None

    def release_device_memory(self) -> None:
        return None

    def _estimator_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Ensembles use every core unless told otherwise."""
        return {"n_jobs": -1, **params} if "n_estimators" in params else dict(params)

    def device_estimator(self, model: Any, classes: dict[str, str]) -> Any:
        """A saved scikit-learn model already runs here: returned unchanged."""
        return model

    def portable_estimator(self, model: Any) -> Any:
        """scikit-learn models are saved as they are."""
        return model


def cpu_backend() -> CpuBackend:
    threads = torch.get_num_threads()
    return CpuBackend(
        name="cpu",
        df=pd,
        xp=np,
        torch_device=torch.device("cpu"),
        device_name=f"CPU ({threads} torch threads)",
        estimator_family="sklearn",
    )
