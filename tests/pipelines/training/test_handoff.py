"""Zero-copy handoff of feature columns to torch on the CPU backend: pointer identity and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines.backend import cpu_backend
from pipelines.errors import DataError
from pipelines.training.handoff import HandoffCheck, stack_columns, to_torch


@pytest.fixture
def backend():
    return cpu_backend()


def _features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "distance": np.array([0.5, -1.0, 2.25, 0.0], dtype=np.float32),
            "dep_hour": np.array([5.0, 6.0, 23.0, 0.0], dtype=np.float32),
            "carrier": np.array([1, 0, 3, 2], dtype=np.int32),
        }
    )


def test_tensors_alias_the_frame_columns(backend):
    frame = _features()
    columns = ["distance", "dep_hour", "carrier"]
    tensors, check = to_torch(frame, columns, backend)
    assert list(tensors) == columns
    for column, tensor in tensors.items():
        assert tensor.data_ptr() == backend.column_address(frame[column])
        assert np.shares_memory(tensor.numpy(), frame[column].to_numpy())
        assert check.columns[column] == {"column_address": tensor.data_ptr(), "tensor_data_ptr": tensor.data_ptr()}
        np.testing.assert_array_equal(tensor.numpy(), frame[column].to_numpy())
    assert check.zero_copy
    assert check.as_dict()["zero_copy"] is True


def test_dtypes_are_preserved(backend):
    tensors, _ = to_torch(_features(), ["distance", "carrier"], backend)
    assert tensors["distance"].dtype == torch.float32
    assert tensors["carrier"].dtype == torch.int32
    assert tensors["distance"].device == backend.torch_device


def test_a_write_through_the_tensor_is_seen_by_the_frame(backend):
    frame = _features()
    tensors, _ = to_torch(frame, ["distance"], backend)
    tensors["distance"][0] = 42.0
    assert frame["distance"].iloc[0] == 42.0


def test_a_mismatched_address_makes_zero_copy_false():
    check = HandoffCheck(
        {"a": {"column_address": 1, "tensor_data_ptr": 1}, "b": {"column_address": 2, "tensor_data_ptr": 3}}
    )
    assert not check.zero_copy


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("distance", np.array([1.0, np.nan, 3.0], dtype=np.float32), "1 nulls"),
        ("carrier", pd.Series(["UA", "AA", "DL"], dtype="str"), "numeric columns"),
        ("payload", pd.Series([{"a": 1}, [2], 3.0], dtype=object), "object"),
        ("delay", pd.array([1, None, 3], dtype="Int32"), "Int32"),
    ],
    ids=["nulls", "string", "object", "nullable-int"],
)
def test_unusable_columns_are_refused_naming_the_column(backend, column, values, reason):
    frame = pd.DataFrame({"ok": np.zeros(3, dtype=np.float32), column: values})
    with pytest.raises(DataError, match=reason) as raised:
        to_torch(frame, ["ok", column], backend)
    assert repr(column) in str(raised.value)


def test_stack_columns_returns_a_rows_by_columns_matrix_and_its_bytes(backend):
    frame = _features()
    tensors, _ = to_torch(frame, ["distance", "dep_hour"], backend)
    matrix, nbytes = stack_columns(list(tensors.values()))
    assert matrix.shape == (4, 2)
    assert matrix.dtype == torch.float32
    assert nbytes == 4 * 2 * 4
    np.testing.assert_array_equal(matrix.numpy(), frame[["distance", "dep_hour"]].to_numpy())
    assert matrix.data_ptr() != tensors["distance"].data_ptr()  # a counted copy, not a view
