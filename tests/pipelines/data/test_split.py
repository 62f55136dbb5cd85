"""Splits: fixed time boundaries, 70/15/15 by time, seeded random; disjoint and complete."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.data.split import random_split, time_fraction_split, time_split
from pipelines.errors import DataError


@pytest.fixture
def frame():
    times = pd.date_range("2013-01-01", "2013-12-31 23:00", freq="6h")
    return pd.DataFrame({"t": times, "i": np.arange(len(times))})


def test_time_split_boundaries(frame):
    parts = time_split(frame, "t", "2013-10-01", "2013-11-01")
    assert parts["train"].frame["t"].max() < pd.Timestamp("2013-10-01")
    assert parts["valid"].frame["t"].min() >= pd.Timestamp("2013-10-01")
    assert parts["valid"].frame["t"].max() < pd.Timestamp("2013-11-01")
    assert parts["test"].frame["t"].min() >= pd.Timestamp("2013-11-01")
    assert sum(len(p) for p in parts.values()) == len(frame)
    assert [p.name for p in parts.values()] == ["train", "valid", "test"]


def test_time_fractions(frame):
    parts = time_fraction_split(frame, "t")
    sizes = np.array([len(p) for p in parts.values()]) / len(frame)
    np.testing.assert_allclose(sizes, [0.70, 0.15, 0.15], atol=0.01)
    assert parts["train"].frame["t"].max() < parts["valid"].frame["t"].min()


def test_random_split_is_seeded_and_disjoint(frame, cpu):
    first = random_split(frame, cpu, seed=3)
    again = random_split(frame, cpu, seed=3)
    other = random_split(frame, cpu, seed=4)
    ids = {name: set(part.frame["i"]) for name, part in first.items()}
    assert ids == {name: set(part.frame["i"]) for name, part in again.items()}
    assert ids != {name: set(part.frame["i"]) for name, part in other.items()}
    assert set.union(*ids.values()) == set(frame["i"]) and sum(map(len, ids.values())) == len(frame)


def test_an_empty_split_is_an_error(frame):
    with pytest.raises(DataError, match="test split"):
        time_split(frame, "t", "2013-10-01", "2014-06-01")


def test_a_numeric_time_column_splits_by_its_order(frame):
    """Epoch seconds or a year as the time column: the boundaries are numbers, not timestamps."""
    numbers = frame.assign(t=frame["i"] * 60.0)
    parts = time_fraction_split(numbers, "t")
    assert parts["train"].frame["t"].max() < parts["valid"].frame["t"].min()
    assert parts["valid"].frame["t"].max() < parts["test"].frame["t"].min()
