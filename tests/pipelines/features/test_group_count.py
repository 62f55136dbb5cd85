"""GroupCount: counts over the frame being transformed (the schedule), by keys and time period."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.errors import ConfigError
from pipelines.features import GroupCount


def _schedule() -> pd.DataFrame:
    times = ["2013-01-01 05:10", "2013-01-01 05:50", "2013-01-01 09:00", "2013-01-02 05:10", "2013-01-01 05:20"]
    return pd.DataFrame({"origin": ["JFK", "JFK", "JFK", "JFK", "LGA"], "sched": pd.to_datetime(times)})


def test_counts_rows_with_the_same_keys_in_the_same_hour_and_day():
    frame = _schedule()
    hour = GroupCount(["origin"], "sched", "h").fit_transform(frame)
    day = GroupCount(["origin"], "sched", "D", name="per_day").fit_transform(frame)
    assert hour["count_origin_h"].tolist() == [2.0, 2.0, 1.0, 1.0, 1.0]
    assert day["per_day"].tolist() == [3.0, 3.0, 3.0, 1.0, 1.0]
    assert hour["count_origin_h"].dtype == "float32"


def test_counts_come_from_the_frame_transformed_not_from_training():
    op = GroupCount(["origin"], "sched", "D").fit(_schedule())
    later = pd.DataFrame({"origin": ["EWR"] * 4, "sched": pd.to_datetime(["2013-12-01 10:00"] * 4)})
    assert op.transform(later)["count_origin_D"].tolist() == [4.0] * 4


def test_earlier_counts_only_rows_scheduled_strictly_before():
    out = GroupCount(["origin"], "sched", "D", earlier=True).fit_transform(_schedule())
    assert out["count_origin_D_earlier"].tolist() == [0.0, 1.0, 2.0, 0.0, 0.0]


def test_keys_alone_and_null_keys():
    frame = pd.DataFrame({"k": ["a", "a", None, "b"]})
    assert GroupCount(["k"]).fit_transform(frame)["count_k"].tolist() == [2.0, 2.0, 0.0, 1.0]
    with pytest.raises(ConfigError, match="time_column"):
        GroupCount(["k"], earlier=True).fit(frame)


@pytest.mark.parametrize("period", ["H", "2h", "W", "MS", "hour"])
def test_periods_cudf_cannot_floor_to_are_refused_on_every_backend(period):
    with pytest.raises(ConfigError, match=r"period .* is not one of \('D', 'h', 'min'"):
        GroupCount(["origin"], "sched", period)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from("xyz"), st.integers(0, 47)), min_size=1, max_size=50))
def test_earlier_is_below_the_day_count_and_counts_match_the_group_sizes(rows):
    frame = pd.DataFrame(
        {"k": [k for k, _ in rows], "t": pd.Timestamp("2013-01-01") + pd.to_timedelta([h for _, h in rows], "h")}
    )
    day = GroupCount(["k"], "t", "D").fit_transform(frame)["count_k_D"]
    earlier = GroupCount(["k"], "t", "D", earlier=True).fit_transform(frame)["count_k_D_earlier"]
    assert (earlier < day).all() and (earlier >= 0).all()
    sizes = frame.groupby(["k", frame["t"].dt.floor("D")])["k"].transform("size")
    assert day.tolist() == sizes.astype(float).tolist()
