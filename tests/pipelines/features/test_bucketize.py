"""Bucketize: quantile or given edges, codes that keep the order of the values, 0 for null."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.errors import ConfigError
from pipelines.features import Bucketize


def test_quantile_edges_and_codes():
    frame = pd.DataFrame({"x": [float(v) for v in range(1, 9)]})
    op = Bucketize(["x"], bins=4).fit(frame)
    assert op.edges_ == {"x": [2.75, 4.5, 6.25]}
    assert op.cardinalities == {"x_bucket": 5}
    out = op.transform(pd.DataFrame({"x": [-100.0, 2.75, 5.0, 100.0, np.nan]}))
    assert out["x_bucket"].tolist() == [1, 2, 3, 4, 0]
    assert out["x_bucket"].dtype == np.int32
    assert out["x"].iloc[0] == -100.0  # the raw column stays


def test_given_boundaries_and_repeated_quantiles():
    train = pd.DataFrame({"x": [1.0] * 4, "y": [3, 3, 3, 3]})
    op = Bucketize(["x", "y"], bins=4, boundaries={"x": [10, 0]}).fit(train)
    assert op.edges_ == {"x": [0.0, 10.0], "y": [3.0]}
    assert op.transform(pd.DataFrame({"x": [-1, 5, 10], "y": [1, 3, 9]}))["y_bucket"].tolist() == [1, 2, 2]


def test_too_few_bins_is_a_config_error():
    with pytest.raises(ConfigError, match="bins"):
        Bucketize(["x"], bins=1).fit(pd.DataFrame({"x": [1.0]}))


@settings(max_examples=60, deadline=None)
@given(
    train=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
    new=st.lists(st.one_of(st.just(float("nan")), st.floats(-1e7, 1e7)), min_size=1, max_size=40),
    bins=st.integers(2, 12),
)
def test_codes_are_within_cardinality_and_keep_the_order_of_values(train, new, bins):
    op = Bucketize(["x"], bins=bins).fit(pd.DataFrame({"x": train}))
    values = pd.Series(new)
    codes = op.transform(pd.DataFrame({"x": values}))["x_bucket"]
    assert codes.between(0, op.cardinalities["x_bucket"] - 1).all()
    assert ((codes == 0) == values.isna()).all()
    known = values.notna()
    ordered = codes[known].to_numpy()[np.argsort(values[known].to_numpy(), kind="stable")]
    assert (np.diff(ordered) >= 0).all()
