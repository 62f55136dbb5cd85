"""The default job's data: joins, leakage guard, cancelled flights, target, recipe output."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import flights
from pipelines.load import load, resolve
from pipelines.split import time_split


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

    return flights.prepare(tables["flights"], tables["weather"], tables["planes"], cpu_backend())


def test_cancelled_flights_are_dropped_and_counted(tables, prepared):
    cancelled = int(tables["flights"]["arr_delay"].isna().sum())
    assert cancelled > 0
    assert prepared.dropped_cancelled == cancelled
    assert len(prepared.frame) == len(tables["flights"]) - cancelled


def test_leakage_columns_never_reach_the_frame(prepared):
    assert not set(flights.LEAKAGE) & set(prepared.frame.columns)


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
    assert not set(flights.LEAKAGE) & set(workflow.columns)
    assert parts["train"].frame["sched_dep"].dt.month.max() == 9
    assert set(parts["test"].frame["sched_dep"].dt.month) == {11, 12}
