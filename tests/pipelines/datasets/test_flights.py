"""The default job's data: joins, leakage guard, cancelled flights, target, recipe output."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.data.load import load, resolve
from pipelines.data.split import time_split
from pipelines.datasets import flights
from pipelines.datasets import flights_context as context


@pytest.fixture(scope="module")
def tables(flights_dir):
    from pipelines.backend import cpu_backend

    raw = flights_dir / "raw"
    backend = cpu_backend()
    full = {name: load(resolve(raw / f"{name}.parquet"), backend) for name in ("flights", "weather", "planes")}
    full["flights"] = full["flights"].iloc[::20].reset_index(drop=True)  # 5% of flights, every month
    return full


@pytest.fixture(scope="module")
def prepared(tables):
    from pipelines.backend import cpu_backend

    return context.prepare(tables["flights"], tables["weather"], tables["planes"], cpu_backend())


def test_cancelled_flights_are_dropped_and_counted(tables, prepared):
    cancelled = int(tables["flights"]["arr_delay"].isna().sum())
    assert cancelled > 0
    assert prepared.dropped_cancelled == cancelled
    assert len(prepared.frame) == len(tables["flights"]) - cancelled


def test_leakage_columns_never_reach_the_frame(prepared):
    assert not set(context.LEAKAGE) & set(prepared.frame.columns)


def test_target_is_arrival_delay_over_15(tables, prepared):
    flown = tables["flights"][tables["flights"]["arr_delay"].notna()].reset_index(drop=True)
    expected = (flown["arr_delay"] > 15).astype("int32")
    pd.testing.assert_series_equal(prepared.frame[flights.TARGET], expected, check_names=False)


def test_weather_is_the_origin_at_the_scheduled_hour(tables, prepared):
    row = prepared.frame.iloc[123]
    weather = tables["weather"]
    match = weather[(weather["origin"] == row["origin"]) & (weather["time_hour"] == row["time_hour"])]
    if len(match):
        assert match["temp"].iloc[0] == pytest.approx(row["temp"])
    else:
        assert pd.isna(row["temp"])
    assert prepared.frame["plane_seats"].notna().mean() > 0.8


def test_recipe_output_is_float32_and_int32_without_nulls(prepared):
    parts = time_split(prepared.frame, flights.TIME_COLUMN, flights.VALID_START, flights.TEST_START)
    workflow = flights.workflow().fit(parts["train"])
    features = workflow.transform(parts["test"])
    assert {str(features[c].dtype) for c in workflow.numeric_} == {"float32"}
    assert {str(features[c].dtype) for c in workflow.categorical_} == {"int32"}
    assert int(features.isna().sum().sum()) == 0
    assert "temp" in workflow.numeric_ and "plane_year" in workflow.numeric_ and "tailnum" in workflow.categorical_
    assert not set(context.LEAKAGE) & set(workflow.columns)
    assert parts["train"].frame["sched_dep"].dt.month.max() == 9
    assert set(parts["test"].frame["sched_dep"].dt.month) == {11, 12}


def test_schedule_counts_include_the_cancelled_flights(tables, prepared):
    schedule = tables["flights"]
    day = schedule["sched_dep"].dt.floor("D")
    expected = schedule.groupby([schedule["origin"], day]).size()
    row = prepared.frame.iloc[321]
    assert row["origin_day_departures"] == expected[(row["origin"], row["sched_dep"].floor("D"))]
    flown = schedule["arr_delay"].notna().groupby([schedule["origin"], day]).sum()
    assert (expected > flown).any()  # some days lost flights to cancellations: the counts still have them
    assert (prepared.frame["tail_earlier_legs"] < prepared.frame["tail_day_legs"]).all()


def test_weather_before_summarises_only_earlier_hours_at_the_origin(tables, prepared):
    weather = tables["weather"].drop_duplicates(subset=["origin", "time_hour"]).set_index(["origin", "time_hour"])
    frame = prepared.frame
    checked = 0
    for row in frame.iloc[::97].itertuples():
        if (row.origin, row.time_hour) not in weather.index:
            continue  # no observation in the scheduled hour: the flight gets no weather at all (null, filled later)
        hours = [row.time_hour - pd.Timedelta(hours=h) for h in (1, 2, 3)]
        precip = [weather["precip"].get((row.origin, h)) for h in hours]
        precip = [p for p in precip if p is not None and not pd.isna(p)]
        assert row.precip_prev3 == pytest.approx(sum(precip))
        checked += 1
    assert checked > 10
    # the weather at the scheduled hour itself is not part of the summary of the hours before
    synthetic = pd.DataFrame(
        {
            "origin": ["JFK"] * 4,
            "time_hour": pd.to_datetime(
                ["2013-01-01 00:00", "2013-01-01 01:00", "2013-01-01 02:00", "2013-01-01 03:00"]
            ),
            **{c: [0.0, 1.0, 2.0, 4.0] for c in context.WEATHER_COLUMNS},
        }
    )
    summary = context.weather_before(synthetic)
    assert summary["precip_prev3"].tolist() == [0.0, 0.0, 1.0, 3.0]
    assert summary["visib_prev6_min"].iloc[1:].tolist() == [0.0, 0.0, 0.0]
    assert pd.isna(summary["visib_prev6_min"].iloc[0])  # nothing observed before


def test_recipe_uses_the_new_ops_and_never_the_target_or_leakage(prepared):
    parts = time_split(prepared.frame, flights.TIME_COLUMN, flights.VALID_START, flights.TEST_START)
    workflow = flights.workflow().fit(parts["train"])
    expected = {"tailnum_te", "route_te", "origin_hour_departures", "precip_prev6", "sched_dep_hour_sin"}
    assert expected <= set(workflow.numeric_)
    assert "precip_prev6_bucket" in workflow.categorical_
    assert not {flights.TARGET, "__target__", *context.LEAKAGE} & set(workflow.columns)


def test_a_sample_keeps_the_whole_schedules_counts(tables, prepared):
    """--sample draws its rows after the schedule is counted: a sampled flight's congestion is the one its whole
    day's schedule gives (scoring the full schedule then sees the values training saw), not a tenth of it."""
    from pipelines.backend import cpu_backend

    sampled = context.prepare(tables["flights"], tables["weather"], tables["planes"], cpu_backend(), (0.1, 7))
    full = prepared.frame.set_index(["sched_dep", "flight", "carrier", "origin"])
    rows = sampled.frame.set_index(["sched_dep", "flight", "carrier", "origin"])
    assert 0.05 * len(full) < len(rows) < 0.15 * len(full) and rows.index.is_unique
    for count in context.SCHEDULE_COUNTS:
        expected = full.loc[rows.index, count.output]
        assert (rows[count.output].to_numpy() == expected.to_numpy()).all(), count.output
    assert rows["origin_day_departures"].median() > 0.5 * full["origin_day_departures"].median()
    assert sampled.rows_in == len(rows) + sampled.dropped_cancelled  # what the run loaded: the sample's rows
