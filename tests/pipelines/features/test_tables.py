"""The table helpers the ops share: an order-keeping lookup and out-of-fold transforms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.data.target import TARGET
from pipelines.features import TargetEncode
from pipelines.features.folds import fold_of, out_of_fold
from pipelines.features.tables import filled, lookup


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])), min_size=1, max_size=40),
    table_keys=st.lists(st.sampled_from(["a", "b", "c", "e"]), unique=True, max_size=4),
    seed=st.integers(0, 1000),
)
def test_lookup_keeps_row_order_and_index_whatever_the_keys(keys, table_keys, seed):
    index = np.random.default_rng(seed).permutation(len(keys)) * 3 + 7
    frame = pd.DataFrame({"k": pd.Series(keys, dtype=object, index=index)})
    table = pd.DataFrame({"k": table_keys, "v": [f"value-{k}" for k in table_keys]})
    values = lookup(frame, ["k"], table)
    assert list(values.index) == list(index)
    expected = [f"value-{k}" if k in table_keys else None for k in keys]
    assert [None if pd.isna(v) else v for v in values["v"]] == expected


def test_out_of_fold_gives_each_row_a_value_from_the_other_folds_only():
    frame = pd.DataFrame({"c": ["a"] * 6, TARGET: [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]}, index=range(10, 16))
    op = TargetEncode(["c"], smoothing=1e-9, folds=6)
    out = out_of_fold(op.fit(frame), frame, ["c"], [TARGET], folds=6, seed=0)
    assert list(out.index) == list(frame.index)
    # Folds come from a hash of the row key (the index), not a permutation: each row's value
    # is the mean label of the rows in the other folds.
    fold = fold_of(frame, 6, seed=0)
    assert fold.nunique() > 1
    expected = [frame.loc[fold != f, TARGET].mean() for f in fold]
    assert out["c_te"].tolist() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "index",
    [
        pd.RangeIndex(500),
        pd.Index(np.arange(500) * 7 + 3),
        pd.date_range("2024-01-01", periods=500, freq="h"),
        pd.Index([f"row-{i}" for i in range(500)]),
    ],
    ids=["range", "integers", "datetimes", "text"],
)
def test_folds_depend_on_the_row_key_and_seed_only_and_are_about_equal(index):
    frame = pd.DataFrame({"c": ["a"] * 500}, index=index)
    fold = fold_of(frame, 5, seed=0)
    assert list(fold.index) == list(index)
    assert fold.between(0, 4).all() and fold.value_counts().min() > 60  # 100 expected per fold
    shuffled = frame.sample(frac=1.0, random_state=1)
    pd.testing.assert_series_equal(fold_of(shuffled, 5, seed=0), fold.loc[shuffled.index])
    assert not fold.equals(fold_of(frame, 5, seed=1))


def test_out_of_fold_on_one_row_falls_back_to_transform():
    frame = pd.DataFrame({"c": ["a"], TARGET: [1.0]})
    op = TargetEncode(["c"]).fit(frame)
    pd.testing.assert_frame_equal(out_of_fold(op, frame, ["c"], [TARGET], folds=5, seed=0), op.transform(frame))


def test_filled_replaces_nulls_and_nan():
    assert filled(pd.Series([1.0, np.nan, None]), 5.0).tolist() == [1.0, 5.0, 5.0]
