"""The mergeable statistics: Chan's merge of moments and of group tables, counts added in any order, and
quantiles and medians from order statistics equal to pandas' on the whole column."""

from __future__ import annotations

import functools
import itertools
import math

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.cluster.frames import Frames
from pipelines.features import order as order_module
from pipelines.features import statistics
from pipelines.features.order import order_statistics

finite = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)


def _split(values: list, cuts: list[int]) -> list[pd.Series]:
    bounds = sorted({0, len(values), *(c % (len(values) + 1) for c in cuts)})
    return [pd.Series(values[a:b], dtype="float64") for a, b in itertools.pairwise(bounds)]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(finite, min_size=2, max_size=80), cuts=st.lists(st.integers(0, 80), max_size=5))
def test_merged_moments_are_those_of_the_whole_column(values, cuts):
    parts = [statistics.moments(part) for part in _split(values, cuts)]
    count, mean, m2 = functools.reduce(statistics.merge_moments, parts)
    whole = pd.Series(values)
    assert count == len(values)
    assert mean == pytest.approx(whole.mean(), rel=1e-9, abs=1e-6)
    assert statistics.std((count, mean, m2)) == pytest.approx(whole.std(), rel=1e-6, abs=1e-3)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from("abcd"), st.one_of(st.none(), finite)), min_size=1, max_size=60),
    cut=st.integers(0, 60),
)
def test_merged_group_tables_are_those_of_the_whole_frame(rows, cut):
    frame = pd.DataFrame({"k": [k for k, _ in rows], "x": [np.nan if x is None else x for _, x in rows]})
    cut = cut % (len(frame) + 1)
    merged = statistics.merge_group_tables(
        statistics.group_table(frame.iloc[:cut], ["k"], "x"),
        statistics.group_table(frame.iloc[cut:], ["k"], "x"),
        ["k"],
    )
    whole = statistics.group_table(frame, ["k"], "x")
    assert merged["k"].tolist() == whole["k"].tolist()
    assert merged["__n__"].tolist() == whole["__n__"].tolist()
    pd.testing.assert_frame_equal(
        merged.drop(columns="k"), whole.drop(columns="k"), check_dtype=False, rtol=1e-6, atol=1e-3
    )


def test_counts_are_added_and_ordered_by_value_whatever_the_order_of_merging():
    a, b, c = (statistics.value_counts(pd.Series(v)) for v in (["x", "y", "x"], ["z", "x"], ["y", None]))
    left = statistics.merge_counts(statistics.merge_counts(a, b), c)
    right = statistics.merge_counts(c, statistics.merge_counts(b, a))
    pd.testing.assert_series_equal(left, right)
    assert left.to_dict() == {"x": 3, "y": 2, "z": 1}


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.one_of(finite, st.sampled_from([0.0, -0.0, 1.5, 1e-300, -2.0])), min_size=1, max_size=90),
    q=st.floats(0.0, 1.0),
)
def test_quantiles_and_medians_from_order_statistics_are_pandas_values(values, q):
    """On one frame (NumPy's selection) and on partitions (counted windows), the same values as pandas'."""
    series = pd.Series(values, dtype="float64")
    count = len(series)
    wanted = statistics.quantile_ranks(count, q) + statistics.median_ranks(count)
    for frame in (series.to_frame("x"), dd.from_pandas(series.to_frame("x"), npartitions=2)):
        order = order_statistics(Frames(frame), {"x": (count, wanted)})["x"]
        assert statistics.quantile(count, q, order) == series.quantile(q)
        assert statistics.median(count, order) == series.median()
        assert all(math.copysign(1.0, v) == 1.0 for v in order.values() if v == 0.0)  # -0.0 read as 0.0
    # one cuDF frame is sorted on its device instead; the same calls on pandas give the same values
    assert order_module._sorted_on_device(series, wanted) == order_module._selected(series, wanted)


@pytest.mark.parametrize("partitions", [None, 3], ids=["one-frame", "partitions"])
def test_order_statistics_narrow_down_where_the_values_are_too_many_to_gather(partitions):
    values = np.random.default_rng(0).normal(size=600_000) * 1e-3 + 7.0  # tightly packed: several rounds
    frame = pd.DataFrame({"x": values})
    frames = Frames(frame if partitions is None else dd.from_pandas(frame, npartitions=partitions))
    ranks = [0, 1, 299_999, 300_000, 599_999]
    found = order_statistics(frames, {"x": (len(values), ranks)})["x"]
    assert [found[r] for r in ranks] == [float(v) for v in np.sort(values)[ranks]]


def test_an_all_null_column_has_no_quantile_or_median():
    assert statistics.quantile_ranks(0, 0.5) == [] and statistics.median_ranks(0) == []
    assert statistics.quantile(0, 0.5, {}) is None and statistics.median(0, {}) is None
