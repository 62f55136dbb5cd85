"""GroupbyAggregate: per-group statistics learned on train, looked up for any split, fallbacks for new groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.data.target import TARGET
from pipelines.errors import ConfigError
from pipelines.features import GroupbyAggregate


def _train() -> pd.DataFrame:
    return pd.DataFrame({"k": ["a", "a", "a", "b", "c"], "x": [1.0, 2.0, 6.0, 10.0, np.nan], "y": [1, 2, 3, 4, 5]})


def test_count_mean_std_per_group_with_fallbacks_for_groups_not_seen():
    op = GroupbyAggregate(["k"], ["x"]).fit(_train())
    assert list(op.outputs_) == ["k_x_count", "k_x_mean", "k_x_std"]
    out = op.transform(pd.DataFrame({"k": ["a", "b", "zzz", None, "c"]}))
    assert out["k_x_count"].tolist() == [3.0, 1.0, 0.0, 0.0, 0.0]  # c's only x is null
    assert out["k_x_mean"].tolist()[:2] == [3.0, 10.0]
    overall_mean, overall_std = _train()["x"].mean(), _train()["x"].std()
    assert out["k_x_mean"].iloc[2:].tolist() == pytest.approx([overall_mean] * 3)
    assert out["k_x_std"].iloc[0] == pytest.approx(np.std([1.0, 2.0, 6.0], ddof=1))
    assert out["k_x_std"].iloc[1] == pytest.approx(overall_std)  # a one-row group has no std
    assert {str(out[c].dtype) for c in op.outputs_} == {"float32"}
    assert not out[list(op.outputs_)].isna().any().any()


def test_several_keys_other_aggregations_and_a_name():
    frame = pd.DataFrame({"a": [1, 1, 2], "b": ["x", "x", "x"], "v": [1, 5, 7]})
    op = GroupbyAggregate(["a", "b"], ["v"], aggregations=("min", "max"), name="ab").fit(frame)
    out = op.transform(frame)
    assert out["ab_v_min"].tolist() == [1.0, 1.0, 7.0]
    assert out["ab_v_max"].tolist() == [5.0, 5.0, 7.0]


def test_the_target_needs_out_of_fold_values():
    frame = _train().assign(**{TARGET: [1.0, 0.0, 1.0, 0.0, 1.0]})
    with pytest.raises(ConfigError, match="folds"):
        GroupbyAggregate(["k"], [TARGET]).fit(frame)
    op = GroupbyAggregate(["k"], [TARGET], aggregations=("mean",), folds=2)
    oof = op.fit_transform(frame)
    assert not oof[f"k_{TARGET}_mean"].equals(op.transform(frame)[f"k_{TARGET}_mean"])


def test_unknown_aggregation_and_key_as_column_are_config_errors():
    with pytest.raises(ConfigError, match="unknown aggregation"):
        GroupbyAggregate(["k"], ["x"], aggregations=("mode",)).fit(_train())
    with pytest.raises(ConfigError, match="keys and columns"):
        GroupbyAggregate(["k"], ["k"]).fit(_train())


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from("abc"), st.floats(-1e3, 1e3)), min_size=1, max_size=40))
def test_group_means_lie_within_the_training_range_and_counts_add_up(rows):
    frame = pd.DataFrame({"k": [k for k, _ in rows], "x": [x for _, x in rows]})
    op = GroupbyAggregate(["k"], ["x"], aggregations=("count", "mean")).fit(frame)
    out = op.transform(frame)
    assert out["k_x_mean"].between(frame["x"].min() - 1e-3, frame["x"].max() + 1e-3).all()
    per_group = out.groupby("k")["k_x_count"].first()
    assert per_group.sum() == len(frame)
