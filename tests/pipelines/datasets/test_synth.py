"""Synthetic flights (`devicepipe data synth`): seeded, the real table's schema, bounded partitions, the real
data's joins and rates, atomic writes, and the flights recipe reading them through --data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines import datasets
from pipelines.config import RunConfig
from pipelines.data.validate import validate
from pipelines.datasets import flights_context as context
from pipelines.datasets import synth
from pipelines.errors import ConfigError, SchemaError
from pipelines.files import sha256_file

ROWS, PARTITION_ROWS, SEED = 5000, 2000, 3


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory, flights_dir):
    out = tmp_path_factory.mktemp("synth") / "flights-5k"
    synth.synthesize(out, ROWS, seed=SEED, data_dir=flights_dir, partition_rows=PARTITION_ROWS, progress=False)
    return out


@pytest.fixture(scope="module")
def real(flights_dir):
    return {name: pd.read_parquet(flights_dir / "raw" / f"{name}.parquet") for name in ("flights", "weather", "planes")}


@pytest.fixture(scope="module")
def fake(synth_dir):
    return pd.read_parquet(synth_dir / "flights")


def _contents(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_seed_and_rows_write_the_same_files(synth_dir, flights_dir, tmp_path):
    synth.synthesize(
        tmp_path / "again", ROWS, seed=SEED, data_dir=flights_dir, partition_rows=PARTITION_ROWS, progress=False
    )
    assert _contents(tmp_path / "again") == _contents(synth_dir)
    synth.synthesize(
        tmp_path / "other", ROWS, seed=SEED + 1, data_dir=flights_dir, partition_rows=PARTITION_ROWS, progress=False
    )
    other = _contents(tmp_path / "other")
    assert other["flights/part-00000.parquet"] != _contents(synth_dir)["flights/part-00000.parquet"]
    assert other["weather.parquet"] == (flights_dir / "raw" / "weather.parquet").read_bytes()


def test_the_layout_and_bounded_partitions(synth_dir, flights_dir):
    assert sorted(p.name for p in synth_dir.iterdir()) == ["flights", "planes.parquet", "synth.json", "weather.parquet"]
    parts = sorted((synth_dir / "flights").iterdir())
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    rows = [pq.read_metadata(p).num_rows for p in parts]
    assert rows == [2000, 2000, 1000] and max(rows) <= PARTITION_ROWS
    manifest = json.loads((synth_dir / "synth.json").read_text())
    assert manifest["rows"] == ROWS and manifest["seed"] == SEED and manifest["version"] == synth.VERSION
    assert [p["rows"] for p in manifest["partitions"]] == rows
    raw = flights_dir / "raw"
    expected = {f"{n}.parquet": sha256_file(raw / f"{n}.parquet") for n in ("flights", *synth.CONTEXT)}
    assert manifest["sources"] == expected
    assert not list(synth_dir.parent.glob(".*.tmp"))


def test_the_schema_is_the_real_flights_table(synth_dir, flights_dir, real, fake, cpu):
    schema = pq.read_schema(flights_dir / "raw" / "flights.parquet")
    for part in (synth_dir / "flights").iterdir():
        written = pq.read_schema(part)
        assert written.remove_metadata() == schema.remove_metadata()
        assert written.metadata[b"pandas"] == schema.metadata[b"pandas"]
    assert fake.dtypes.equals(real["flights"].dtypes)
    validate(fake, context.FLIGHT_RULES, cpu, name="flights")


def test_carriers_routes_schedules_and_tails_are_real_values(real, fake):
    flights = real["flights"]
    routes = set(zip(flights["carrier"], flights["origin"], flights["dest"], flights["flight"], strict=True))
    assert set(zip(fake["carrier"], fake["origin"], fake["dest"], fake["flight"], strict=True)) <= routes
    schedule = set(zip(flights["origin"], flights["sched_dep"], flights["time_hour"], strict=True))
    assert set(zip(fake["origin"], fake["sched_dep"], fake["time_hour"], strict=True)) <= schedule
    assert set(fake["sched_dep"].dt.year) == {2013}
    carrier_tails = set(zip(flights["carrier"], flights["tailnum"].fillna("?"), strict=True))
    assert set(zip(fake["carrier"], fake["tailnum"].fillna("?"), strict=True)) <= carrier_tails


def test_joins_and_rates_are_those_of_the_real_data(real, fake):
    weather = pd.MultiIndex.from_frame(real["weather"][["origin", "time_hour"]])

    def rates(flights):
        keys = pd.MultiIndex.from_frame(flights[["origin", "time_hour"]])
        return {
            "weather": keys.isin(weather).mean(),
            "planes": flights["tailnum"].isin(real["planes"]["tailnum"]).mean(),
            "no_tail": flights["tailnum"].isna().mean(),
            "cancelled": flights["arr_delay"].isna().mean(),
            "delayed": (flights["arr_delay"] > context.DELAY_MINUTES).mean(),
            "arr_delay": flights["arr_delay"].mean() / 100,
        }

    expected, found = rates(real["flights"]), rates(fake)
    assert found["weather"] > 0.98
    for name, tolerance in {"weather": 0.01, "planes": 0.03, "no_tail": 0.01, "cancelled": 0.01}.items():
        assert found[name] == pytest.approx(expected[name], abs=tolerance), name
    assert found["delayed"] == pytest.approx(expected["delayed"], abs=0.03)
    assert found["arr_delay"] == pytest.approx(expected["arr_delay"], abs=0.03)


def test_times_follow_the_perturbed_delays(real, fake):
    """Departure time = scheduled time + departure delay (on the clock) holds as often as in the real data."""

    def consistent(flights):
        flown = flights[flights["dep_delay"].notna()]
        moved = synth._clock(flown["sched_dep_time"].to_numpy(float), flown["dep_delay"].to_numpy())
        return (moved == flown["dep_time"].to_numpy()).mean()

    assert consistent(fake) == pytest.approx(consistent(real["flights"]), abs=0.01)
    assert consistent(fake) > 0.95
    cancelled = fake["dep_delay"].isna()
    assert (fake.loc[cancelled, "dep_time"].isna()).all() and fake.loc[cancelled, "arr_delay"].isna().all()


def test_the_clock_wraps_around_midnight():
    hhmm = np.array([2359.0, 10.0, 2400.0, 1230.0, np.nan])
    moved = synth._clock(hhmm, np.array([2.0, -20.0, 0.0, 45.0, 5.0]))
    assert moved[:4].tolist() == [1.0, 2350.0, 2400.0, 1315.0] and np.isnan(moved[4])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"rows": 0}, "--rows must be at least 1, found 0"),
        ({"partition_rows": 0}, "--partition-rows must be at least 1"),
        ({"seed": -1}, "--seed must be 0 or more"),
    ],
)
def test_bad_numbers_are_refused_before_anything_is_written(tmp_path, settings, message):
    arguments = {"rows": 10, "seed": 0, "partition_rows": 10, **settings}
    with pytest.raises(ConfigError, match=message):
        synth.synthesize(tmp_path / "out", data_dir=tmp_path / "data", progress=False, **arguments)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_half_way_leaves_neither_the_folder_nor_a_temporary(tmp_path, flights_dir, monkeypatch):
    real_draw, calls = synth.draw, []

    def failing(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_draw(*args)

    monkeypatch.setattr(synth, "draw", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        synth.synthesize(tmp_path / "out", 30, data_dir=flights_dir, partition_rows=10, progress=False)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty").mkdir()
    calls.clear()
    with pytest.raises(RuntimeError, match="disk full"):
        synth.synthesize(tmp_path / "empty", 30, data_dir=flights_dir, partition_rows=10, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["empty"] and not list((tmp_path / "empty").iterdir())


def test_the_flights_recipe_reads_a_synth_folder(synth_dir, cpu):
    recipe = datasets.recipe_for(RunConfig(dataset="flights", data=str(synth_dir), seed=SEED))
    recipe.check()
    parts = sorted((synth_dir / "flights").iterdir())
    assert recipe.input_files() == [*parts, synth_dir / "weather.parquet", synth_dir / "planes.parquet"]
    dataset = datasets.load_dataset(recipe, cpu)
    assert dataset.counts["rows_loaded"] == ROWS
    rows = len(dataset.frame)
    assert rows == ROWS - dataset.counts["dropped_cancelled"]
    assert set(dataset.inputs) == {str(p) for p in recipe.input_files()}
    assert dataset.frame["temp"].notna().mean() > 0.98 and dataset.frame["plane_seats"].notna().mean() > 0.8
    split = datasets.split_dataset(recipe, dataset, cpu)
    assert dataset.frame is None  # the rows moved into the parts
    assert set(split["test"].frame["sched_dep"].dt.month) == {11, 12}
    features = datasets.fit_features(recipe, dataset, split)
    assert sum(features.rows.values()) == rows
    test = features.frames["test"]
    assert {str(test[c].dtype) for c in features.workflow.numeric_} == {"float32"}
    assert {str(test[c].dtype) for c in features.workflow.categorical_} == {"int32"}
    assert int(test.isna().sum().sum()) == 0
    scored = recipe.rows_to_score(parts[0], cpu)
    assert len(scored) == PARTITION_ROWS and "precip_prev6" in scored.columns and "plane_year" in scored.columns


def test_without_data_the_recipe_reads_the_staged_tables(flights_dir):
    recipe = datasets.recipe_for(RunConfig(data_dir=str(flights_dir)))
    recipe.check()
    raw = flights_dir / "raw"
    assert recipe.input_files() == [raw / "flights.parquet", raw / "weather.parquet", raw / "planes.parquet"]


def test_a_data_folder_missing_a_table_is_refused_by_name(synth_dir, tmp_path):
    def check(data):
        datasets.recipe_for(RunConfig(dataset="flights", data=str(data))).check()

    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "planes.parquet").write_bytes((synth_dir / "planes.parquet").read_bytes())
    with pytest.raises(ConfigError, match=r"has no flights or flights\.parquet, weather\.parquet:"):
        check(tmp_path / "partial")
    with pytest.raises(ConfigError, match="is a file"):
        check(synth_dir / "synth.json")
    with pytest.raises(ConfigError, match="is not there"):
        check(tmp_path / "nowhere")
    frame = pd.read_parquet(synth_dir / "flights" / "part-00000.parquet").drop(columns=["dest"])
    frame.to_parquet(tmp_path / "partial" / "flights.parquet")
    (tmp_path / "partial" / "weather.parquet").write_bytes((synth_dir / "weather.parquet").read_bytes())
    with pytest.raises(SchemaError, match="flights column 'dest'"):
        check(tmp_path / "partial")


@pytest.mark.parametrize("settings", [{"target": "y"}, {"time_column": "sched_dep"}, {"drop": ["dest"]}])
def test_own_table_settings_stay_refused_with_a_data_folder(synth_dir, settings):
    with pytest.raises(ConfigError, match="describe your own data"):
        datasets.recipe_for(RunConfig(dataset="flights", data=str(synth_dir), **settings)).check()
