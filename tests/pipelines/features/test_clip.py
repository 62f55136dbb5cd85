"""Clip: fixed bounds or training quantiles; nulls stay null; float32."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.errors import ConfigError
from pipelines.features import Clip


def test_fixed_and_quantile_bounds():
    train = pd.DataFrame({"x": [float(v) for v in range(101)]})
    op = Clip(["x"], lower=5.0, upper_quantile=0.9).fit(train)
    assert op.bounds_ == {"x": [5.0, 90.0]}
    out = op.transform(pd.DataFrame({"x": [-1.0, 50.0, 1e9, np.nan]}))
    assert out["x"].tolist()[:3] == [5.0, 50.0, 90.0]
    assert np.isnan(out["x"].iloc[3])
    assert out["x"].dtype == np.float32


def test_one_sided_and_all_null_columns():
    op = Clip(["x", "y"], lower_quantile=0.0).fit(pd.DataFrame({"x": [3.0, 1.0], "y": [np.nan, np.nan]}))
    assert op.bounds_ == {"x": [1.0, None], "y": [None, None]}
    assert op.transform(pd.DataFrame({"x": [0.0, 1e30], "y": [1.0, 2.0]}))["y"].tolist() == [1.0, 2.0]


def test_bad_quantile_or_crossed_bounds_are_config_errors():
    with pytest.raises(ConfigError, match="within"):
        Clip(["x"], upper_quantile=1.5).fit(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(ConfigError, match="above the upper"):
        Clip(["x"], lower=2.0, upper=1.0).fit(pd.DataFrame({"x": [1.0]}))


@settings(max_examples=60, deadline=None)
@given(
    train=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30),
    new=st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=30),
    q=st.floats(0.5, 1.0),
)
def test_outputs_lie_within_the_learned_bounds(train, new, q):
    op = Clip(["x"], lower_quantile=1 - q, upper_quantile=q).fit(pd.DataFrame({"x": train}))
    lower, upper = op.bounds_["x"]
    out = op.transform(pd.DataFrame({"x": new}))["x"].astype("float64")
    assert (out >= np.float32(lower) - 1e-3 * abs(lower) - 1e-6).all()
    assert (out <= np.float32(upper) + 1e-3 * abs(upper) + 1e-6).all()
