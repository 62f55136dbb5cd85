"""Will a run fit in memory? An estimate from the inputs' metadata, checked before any row is read.

A table that cannot fit must be a clear error before the load, not the kernel's OOM killer an hour in. The
estimate is the bytes of the input tables as frames (rows x column widths from the Parquet footers and the
Arrow schema; a CSV file's size), times the recipe's `memory_factor`: the peak resident bytes of the whole job
per byte of input, measured on the CPU path (docs/benchmarks.md, "Memory"). It is compared with what the
backend can still take (`Backend.available_bytes`).
"""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.backend import Backend
from pipelines.data.load import Source, resolve
from pipelines.errors import DataError

READ_FACTOR = 2.0  # reading a table holds it about twice (the file's columns and the frame)
STRING_BYTES = 16  # an Arrow string value in memory: an 8-byte offset and a short text
GZIP_RATIO = 4  # a gzipped CSV is about a quarter of its text


def source_bytes(source: Source) -> int:
    """About how many bytes `source` takes as a frame."""
    if source.format == "csv":
        return sum(path.stat().st_size * (GZIP_RATIO if path.suffix == ".gz" else 1) for path in source.files)
    rows = sum(_parquet_rows(path) for path in source.files)
    return rows * row_bytes(source)


def row_bytes(source: Source) -> int:
    """About how many bytes one row of a Parquet `source` takes in a frame (its schema's value widths)."""
    return sum(_value_bytes(field.type) for field in source.schema)


def input_bytes(paths: list[Path]) -> int:
    """The bytes of every input table (a path as `resolve` takes it) as frames."""
    return sum(source_bytes(resolve(path)) for path in paths)


def needed(size: int, factor: float, fraction: float = 1.0) -> float:
    """Peak bytes of a run over `size` bytes of input: the reading takes every row, the stages after it the
    sampled `fraction` times the recipe's `factor`."""
    return size * max(READ_FACTOR, factor * fraction)


def check_fits(size: int, factor: float, fraction: float, backend: Backend, what: str) -> None:
    """A DataError before the load when the run cannot fit in what the backend can take, with what to do."""
    need, room = needed(size, factor, fraction), backend.available_bytes()
    if need <= room:
        return
    fits = math.floor(100 * room / (factor * size)) / 100 if room > READ_FACTOR * size else 0.0
    advice = (
        f"To go on, run on a sample that fits (--sample {fits}), free memory or use a machine with more"
        if fits >= 0.01
        else "Even reading the input does not fit: free memory or use a machine with more"
    )
    raise DataError(
        f"{what} needs about {need / 2**30:.1f} GiB of memory on the {backend.name} backend at its peak, but "
        f"{room / 2**30:.1f} GiB are available, so it would be killed part-way. {advice}, or scale out on Dask. "
        f"The estimate is the inputs' size as frames times {factor:g}, as measured (docs/benchmarks.md, Memory)."
    )


def _parquet_rows(path: Path) -> int:
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path} is not a readable Parquet file ({exc}); re-export it.") from exc


def _value_bytes(kind: pa.DataType) -> int:
    if pa.types.is_dictionary(kind):
        return _value_bytes(kind.index_type)
    try:
        return max(1, kind.bit_width // 8)
    except ValueError:  # variable width: strings, binaries, lists
        return STRING_BYTES
