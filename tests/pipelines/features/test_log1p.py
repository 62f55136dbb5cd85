"""Log1p: log1p for non-negative values, odd and monotone below zero, nulls kept, float32."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.features import Log1p


def test_values():
    out = Log1p(["x"]).fit_transform(pd.DataFrame({"x": [0.0, np.e - 1, -(np.e - 1), np.nan]}))
    assert out["x"].tolist()[:3] == pytest.approx([0.0, 1.0, -1.0])
    assert np.isnan(out["x"].iloc[3])
    assert out["x"].dtype == np.float32


def test_integer_column():
    out = Log1p(["n"]).fit_transform(pd.DataFrame({"n": [0, 9, 99]}))
    assert out["n"].tolist() == pytest.approx(np.log1p([0, 9, 99]).tolist())


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(-1e30, 1e30), min_size=1, max_size=40))
def test_finite_sign_preserving_and_monotone(values):
    out = Log1p(["x"]).fit_transform(pd.DataFrame({"x": values}))["x"].to_numpy()
    assert np.isfinite(out).all()
    assert (np.sign(out) * np.sign(values) >= 0).all()  # never flips (tiny values may round to 0 in float32)
    order = np.argsort(values, kind="stable")
    assert (np.diff(out[order]) >= 0).all()
