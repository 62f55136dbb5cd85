"""The naive-way benchmark (benchmarks.naive) on every 40th flight, in both input layouts. No timing asserts."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmarks import naive
from pipelines.datasets import flights as recipe
from pipelines.datasets.flights_context import LEAKAGE
from pipelines.errors import DataError
from tests.conftest import split_rows

EVERY = 40


@pytest.fixture(scope="module")
def sources(flights_dir, tmp_path_factory) -> dict[str, object]:
    """The same sample in the staged layout (DIR/raw/*.parquet) and the synthetic one (DIR/flights/part-*.parquet,
    there without sched_dep, which the naive script then builds from the calendar columns)."""
    raw = flights_dir / "raw"
    flights = pd.read_parquet(raw / "flights.parquet").iloc[::EVERY].reset_index(drop=True)
    weather, planes = pd.read_parquet(raw / "weather.parquet"), pd.read_parquet(raw / "planes.parquet")
    staged, parts = tmp_path_factory.mktemp("staged"), tmp_path_factory.mktemp("parts")
    (staged / "raw").mkdir()
    (parts / "flights").mkdir()
    flights.to_parquet(staged / "raw" / "flights.parquet", index=False)
    unscheduled = flights.drop(columns=["sched_dep"])
    for i, start in enumerate(range(0, len(flights), 3000)):
        unscheduled.iloc[start : start + 3000].to_parquet(parts / "flights" / f"part-{i:04d}.parquet", index=False)
    for folder in (staged / "raw", parts):
        weather.to_parquet(folder / "weather.parquet", index=False)
        planes.to_parquet(folder / "planes.parquet", index=False)
    return {"staged": staged, "parts": parts, "flights": flights}


@pytest.fixture(scope="module")
def runs(sources, tmp_path_factory) -> dict[str, dict]:
    """run_naive on the staged layout; the command (main, with --json) on the parts layout."""
    path = tmp_path_factory.mktemp("json") / "naive.json"
    run = naive.main(["--source", str(sources["parts"]), "--epochs", "2", "--json", str(path)])
    written = json.loads(path.read_text())
    assert written["benchmark"] == "naive" and written["command"].startswith("python -m benchmarks.naive ")
    assert written["results"] == json.loads(json.dumps(run["results"]))
    return {"staged": naive.run_naive(sources["staged"], epochs=2), "parts": written["results"]}


def test_paths_are_found_in_either_layout_and_missing_ones_named(sources, tmp_path):
    staged = naive.naive_paths(sources["staged"])
    assert staged["flights"] == sources["staged"] / "raw" / "flights.parquet"
    parts = naive.naive_paths(sources["parts"])
    assert parts["flights"] == sources["parts"] / "flights" and parts["flights"].is_dir()
    assert {p.name for p in (parts["weather"], parts["planes"])} == {"weather.parquet", "planes.parquet"}
    with pytest.raises(DataError, match=r"weather\.parquet"):
        naive.naive_paths(tmp_path)


@pytest.mark.parametrize("layout", ["staged", "parts"])
def test_every_stage_is_timed_and_every_model_scored(runs, layout):
    result = runs[layout]
    assert list(result["seconds"]) == [*naive.STAGES, "total"]
    assert all(s > 0 for s in result["seconds"].values())
    assert result["seconds"]["total"] >= sum(result["seconds"][stage] for stage in naive.STAGES)
    assert len(result["epoch_seconds"]) == 2 and all(s > 0 for s in result["epoch_seconds"])
    assert sum(result["epoch_seconds"]) <= result["seconds"]["mlp"]
    assert set(result["auc"]) == {"logistic_regression", "random_forest", "mlp"}
    assert all(0.5 < auc <= 1 for auc in result["auc"].values()), result["auc"]


def test_rows_are_the_flown_flights_split_on_the_recipes_dates(sources, runs):
    assert (naive.VALID_START, naive.TEST_START) == (recipe.VALID_START, recipe.TEST_START)
    expected = split_rows(sources["flights"])
    assert runs["staged"]["rows"] == runs["parts"]["rows"] == expected
    assert sum(expected.values()) == int(sources["flights"]["arr_delay"].notna().sum()) and min(expected.values()) > 0


def test_features_are_known_before_departure(runs):
    result = runs["staged"]
    names = result["feature_names"]
    assert result["features"] == len(names) == len(set(names))
    assert names == runs["parts"]["feature_names"]
    for name in names:
        assert not any(name == c or name.startswith(f"{c}_") for c in LEAKAGE), name
    assert not {"delayed", "sched_dep", "time_hour", "tailnum", "year"} & set(names)
    assert set(naive.NUMERIC) <= set(names)
    assert {"carrier", "origin", "dest"} == {name.split("_", 1)[0] for name in names if name not in naive.NUMERIC}
