"""Zero-copy handoff of feature columns to PyTorch through DLPack.

pandas column -> NumPy view -> torch.from_dlpack (CPU); cuDF column -> CuPy view -> torch.from_dlpack (CUDA).
Each tensor aliases its column's buffer: `data_ptr()` equals the address the frame reports for the column,
which is checked here for every column and returned for the run manifest. The cost is O(columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from pipelines.backend import Backend
from pipelines.data.target import TARGET
from pipelines.errors import DataError
from pipelines.features.feature_set import FeatureSet
from pipelines.features.workflow import Workflow
from pipelines.training.types import DeviceData

ALLOWED_DTYPES = ("float32", "float64", "int32", "int64", "int16", "int8", "uint8")


@dataclass
class HandoffCheck:
    """Per column: the frame's buffer address and the tensor's data_ptr, which must be equal."""

    columns: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def zero_copy(self) -> bool:
        return all(c["column_address"] == c["tensor_data_ptr"] for c in self.columns.values())

    def as_dict(self) -> dict[str, Any]:
        return {"zero_copy": self.zero_copy, "columns": self.columns}


def to_torch(
    frame: Any, columns: list[str], backend: Backend, check_nulls: bool = True
) -> tuple[dict[str, torch.Tensor], HandoffCheck]:
    """One tensor per column, sharing memory with the frame; refuses nulls and non-numeric columns.

    Everything here is O(columns) except the null check on float columns, which must read every value:
    `check_nulls=False` skips it where the frame was just checked (a Workflow's output has no nulls).
    """
    tensors, check = {}, HandoffCheck()
    for column in columns:
        series = frame[column]
        dtype = str(series.dtype)
        if dtype not in ALLOWED_DTYPES:
            raise DataError(f"Column {column!r} is {dtype}; the handoff takes numeric columns {ALLOWED_DTYPES}.")
        nulls = int(series.isna().sum()) if check_nulls else 0
        if nulls:
            raise DataError(f"Column {column!r} has {nulls} nulls; fill them in the feature workflow first.")
        view = backend.column_view(series)
        tensor = torch.from_dlpack(view)
        if not tensor.is_contiguous():
            raise DataError(f"Column {column!r} is not contiguous in memory; it cannot be shared with torch.")
        address = backend.column_address(series)
        if tensor.data_ptr() != address:
            raise DataError(
                f"Column {column!r} could not be handed to torch without a copy "
                f"(column buffer {address:#x}, tensor {tensor.data_ptr():#x})."
            )
        tensors[column] = tensor
        check.columns[column] = {"column_address": address, "tensor_data_ptr": tensor.data_ptr()}
    return tensors, check


def stack_columns(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, int]:
    """A [rows, columns] matrix from column tensors: a device-to-device copy, returned with its bytes."""
    matrix = torch.stack(tensors, dim=1)
    return matrix, matrix.numel() * matrix.element_size()


@dataclass
class Handoff:
    """Every split as device tensors, the pointer check per split, and the bytes of the on-device assembly."""

    data: dict[str, DeviceData]
    check: dict[str, Any]
    assembled_bytes: int


def device_data(
    frame: Any, workflow: Workflow, backend: Backend, target: Any = None, check_nulls: bool = True
) -> tuple[DeviceData, HandoffCheck, int]:
    """A feature frame (and its target column) as DeviceData: zero-copy column tensors, then the numeric and
    code matrices assembled on the device. Returns the pointer check and the assembled bytes too."""
    tensors, check = to_torch(frame, workflow.columns, backend, check_nulls=check_nulls)
    numeric, numeric_bytes = _matrix(tensors, workflow.numeric_, len(frame), torch.float32, backend)
    codes, codes_bytes = _matrix(tensors, workflow.categorical_, len(frame), torch.int32, backend)
    y = torch.empty(0, device=backend.torch_device)
    if target is not None:
        target_tensors, target_check = to_torch(target.to_frame(TARGET), [TARGET], backend)
        y = target_tensors[TARGET]
        check.columns.update(target_check.columns)
    return DeviceData(numeric, codes, y), check, numeric_bytes + codes_bytes


def hand_off(features: FeatureSet, backend: Backend) -> Handoff:
    """The handoff stage: every split's feature columns and target, zero-copy, assembled on the device."""
    data, checks, assembled = {}, {}, 0
    for name, frame in features.frames.items():
        # The workflow's output check has just ruled out nulls: the handoff need not read every value again.
        target = features.targets[name]
        data[name], check, nbytes = device_data(frame, features.workflow, backend, target, check_nulls=False)
        checks[name] = check.as_dict()
        assembled += nbytes
    summary = {"zero_copy": all(c["zero_copy"] for c in checks.values()), "splits": checks}
    return Handoff(data, summary, assembled)


def _matrix(
    tensors: dict[str, torch.Tensor], columns: list[str], rows: int, dtype: torch.dtype, backend: Backend
) -> tuple[torch.Tensor, int]:
    if not columns:
        return torch.zeros((rows, 0), dtype=dtype, device=backend.torch_device), 0
    return stack_columns([tensors[c] for c in columns])
