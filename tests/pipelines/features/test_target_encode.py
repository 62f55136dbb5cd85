"""TargetEncode: smoothed means, unseen values at the prior, out-of-fold on the training split only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.data.target import TARGET
from pipelines.errors import ConfigError, SchemaError
from pipelines.features import TargetEncode


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"c": ["a", "a", "a", "a", "b", "b", None, "c"], TARGET: [1, 1, 1, 0, 0, 0, 1, 0]})


def test_full_train_statistics_are_smoothed_toward_the_prior():
    op = TargetEncode(["c"], smoothing=2.0).fit(_frame())
    assert op.prior_ == pytest.approx(0.5)
    out = op.transform(pd.DataFrame({"c": ["a", "b", "c", "zzz", None]}))
    expected = [(3 + 2 * 0.5) / (4 + 2), (0 + 1) / (2 + 2), (0 + 1) / (1 + 2), 0.5, 0.5]
    assert out["c_te"].tolist() == pytest.approx(expected)
    assert out["c_te"].dtype == np.float32
    assert out["c"].iloc[:4].tolist() == ["a", "b", "c", "zzz"]  # the input column is left as it was
    assert op.outputs_ == {"c_te": "numeric"}


def test_transform_does_not_need_the_target():
    op = TargetEncode(["c"]).fit(_frame())
    assert "c_te" in op.transform(_frame().drop(columns=[TARGET])).columns


def test_training_rows_get_out_of_fold_values_that_never_use_their_own_label():
    # Each value is unique to one row: out of fold, no row has any statistic but the prior of the other folds.
    frame = pd.DataFrame({"c": list("abcdefghij"), TARGET: [1.0, 0.0] * 5})
    op = TargetEncode(["c"], smoothing=1.0, folds=5)
    out = op.fit_transform(frame)
    in_sample = op.transform(frame)["c_te"]
    # In sample, a row's own label pulls its encoding toward it; out of fold it cannot.
    assert ((in_sample > 0.5) == (frame[TARGET] == 1)).all()
    assert not ((out["c_te"] > 0.5) == (frame[TARGET] == 1)).all()
    assert set(op.transform_train(frame)["c_te"]) == set(out["c_te"])


def test_folds_are_seeded_and_deterministic():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"c": rng.choice(list("abcd"), 200), TARGET: rng.integers(0, 2, 200).astype("float32")})
    first = TargetEncode(["c"], seed=1).fit_transform(frame)
    pd.testing.assert_frame_equal(first, TargetEncode(["c"], seed=1).fit_transform(frame))
    assert not first.equals(TargetEncode(["c"], seed=2).fit_transform(frame))


def test_regression_target_and_integer_column_with_nulls_at_transform_time():
    frame = pd.DataFrame({"n": [1, 1, 2, 2], TARGET: [10.0, 20.0, 30.0, 50.0]})
    op = TargetEncode(["n"], smoothing=1.0).fit(frame)
    out = op.transform(pd.DataFrame({"n": [1.0, np.nan, 2.0]}))
    assert out["n_te"].tolist() == pytest.approx([(30 + 27.5) / 3, 27.5, (80 + 27.5) / 3])


def test_bad_settings_and_missing_target_are_clear_errors():
    with pytest.raises(ConfigError, match="cannot encode itself"):
        TargetEncode(["c", TARGET]).fit(_frame())
    with pytest.raises(ConfigError, match="smoothing"):
        TargetEncode(["c"], smoothing=0).fit(_frame())
    with pytest.raises(SchemaError, match=TARGET):
        TargetEncode(["c"]).fit(_frame().drop(columns=[TARGET]))


@settings(max_examples=50, deadline=None)
@given(
    labels=st.lists(st.tuples(st.sampled_from(list("abcde")), st.booleans()), min_size=1, max_size=60),
    smoothing=st.floats(0.1, 100),
    folds=st.integers(2, 6),
)
def test_encodings_stay_between_the_smallest_and_largest_category_means(labels, smoothing, folds):
    frame = pd.DataFrame({"c": [c for c, _ in labels], TARGET: [float(y) for _, y in labels]})
    op = TargetEncode(["c"], smoothing=smoothing, folds=folds)
    for out in (op.fit_transform(frame), op.transform(frame)):
        values = out["c_te"]
        assert values.notna().all()
        assert values.between(-1e-6, 1 + 1e-6).all()
    seen = op.transform(pd.DataFrame({"c": ["zzz"]}))["c_te"].iloc[0]
    assert seen == pytest.approx(frame[TARGET].mean(), rel=1e-6)


def test_columns_named_like_statistics_are_encoded():
    frame = pd.DataFrame({"count": [1, 1, 2], "sum": ["a", "b", "b"], TARGET: [1.0, 0.0, 0.0]})
    out = TargetEncode(["count", "sum"], smoothing=1.0).fit(frame).transform(frame)
    assert out["count_te"].tolist() == pytest.approx([(1 + 1 / 3) / 3] * 2 + [(0 + 1 / 3) / 2])
