"""Target encoding: missing targets dropped and counted, string labels, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.data.target import TARGET, encode_target
from pipelines.errors import ConfigError, DataError, SchemaError


def test_string_labels_and_missing_targets(cpu):
    frame = pd.DataFrame({"x": [1, 2, 3, 4], "y": ["yes", "no", None, "yes"]})
    encoded, info = encode_target(frame, "y", "classification", cpu)
    assert info.dropped_missing == 1 and info.classes == ["no", "yes"]
    assert encoded[TARGET].tolist() == [1.0, 0.0, 1.0] and str(encoded[TARGET].dtype) == "float32"


def test_numeric_labels_put_the_larger_class_positive(cpu):
    encoded, info = encode_target(pd.DataFrame({"y": [0, 1, 1]}), "y", "classification", cpu)
    assert info.classes == [0, 1] and encoded[TARGET].tolist() == [0.0, 1.0, 1.0]


def test_more_than_two_classes_is_refused(cpu):
    with pytest.raises(DataError, match=r"exactly 2 classes.*found 3"):
        encode_target(pd.DataFrame({"y": ["a", "b", "c"]}), "y", "classification", cpu)


def test_regression_needs_numbers(cpu):
    with pytest.raises(SchemaError, match="numeric target"):
        encode_target(pd.DataFrame({"y": ["a", "b"]}), "y", "regression", cpu)
    encoded, _ = encode_target(pd.DataFrame({"y": [1.5, None, 2]}), "y", "regression", cpu)
    assert encoded[TARGET].tolist() == [1.5, 2.0]


def test_unknown_task_and_column(cpu):
    with pytest.raises(ConfigError):
        encode_target(pd.DataFrame({"y": [1]}), "y", "ranking", cpu)
    with pytest.raises(SchemaError, match="'z'"):
        encode_target(pd.DataFrame({"y": [1]}), "z", "regression", cpu)


def test_no_rows_with_a_target(cpu):
    with pytest.raises(DataError, match="Every row lacks"):
        encode_target(pd.DataFrame({"y": [None, None]}, dtype="float64"), "y", "regression", cpu)


def test_an_infinite_regression_target_is_named(cpu):
    frame = pd.DataFrame({"x": [1, 2, 3], "price": [1.0, float("inf"), 2.0]})
    with pytest.raises(DataError, match=r"target 'price'.*1 infinite"):
        encode_target(frame, "price", "regression", cpu)
