"""The table helpers the ops share: an order-keeping lookup and out-of-fold transforms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.features import TargetEncode
from pipelines.features.folds import fold_of, out_of_fold
from pipelines.features.tables import filled, lookup
from pipelines.target import TARGET


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
    # Folds come from a hash of the row key (the key column and the index), not a permutation: each row's value
    # is the mean label of the rows in the other folds.
    fold = fold_of(frame, ["c"], 6, seed=0)
    assert fold.nunique() > 1
    expected = [frame.loc[fold != f, TARGET].mean() for f in fold]
    assert out["c_te"].tolist() == pytest.approx(expected, rel=1e-6)


def test_out_of_fold_on_one_row_falls_back_to_transform():
    frame = pd.DataFrame({"c": ["a"], TARGET: [1.0]})
    op = TargetEncode(["c"]).fit(frame)
    pd.testing.assert_frame_equal(out_of_fold(op, frame, ["c"], [TARGET], folds=5, seed=0), op.transform(frame))


def test_filled_replaces_nulls_and_nan():
    assert filled(pd.Series([1.0, np.nan, None]), 5.0).tolist() == [1.0, 5.0, 5.0]
