"""Input files read in partitions on the Dask workers, every row numbered as in the whole table.

    load_partitioned   a resolved input (pipelines.data.load.Source) as a numbered dask DataFrame
    read_parquet       Parquet files as partitions of about --partition-size (row groups, then row ranges of one)
    pieces             how the files are cut: whole row groups while they fit, a larger one in row ranges

A piece is read on a worker (`pipelines.backend.read_parquet_piece`); a file a worker cannot read is a DataError
naming the file, the rows and the worker's host.
"""

from __future__ import annotations

import itertools
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.backend import read_parquet_piece
from pipelines.cluster.client import scatter_frame
from pipelines.cluster.partitions import renumber
from pipelines.config import partition_bytes
from pipelines.data.footprint import row_bytes
from pipelines.data.load import load, require_columns
from pipelines.data.validate import check_reserved_names
from pipelines.errors import DataError


@dataclass(frozen=True)
class Piece:
    """Rows [start, stop) of one Parquet file, read from the row groups that hold them."""

    path: str
    row_groups: tuple[int, ...]
    skip: int  # rows of the first row group before `start`
    rows: int


def pieces(paths: list[Path], row_bytes: int, partition_bytes: int) -> list[Piece]:
    """The files cut into pieces of about `partition_bytes` as frames (`row_bytes` a row), in row order: whole
    row groups together while they fit, a row group larger than that in row ranges."""
    most = max(1, partition_bytes // max(row_bytes, 1))
    cut: list[Piece] = []
    for path in paths:
        metadata = pq.ParquetFile(path).metadata
        sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        starts = [0, *itertools.accumulate(sizes)]
        for start in range(0, starts[-1], most):
            stop = min(start + most, starts[-1])
            groups = [i for i, size in enumerate(sizes) if size and starts[i] < stop and starts[i + 1] > start]
            cut.append(Piece(str(path), tuple(groups), start - starts[groups[0]], stop - start))
    return cut


def load_partitioned(source: Any, backend: Any, partition_size: str, columns: list[str] | None = None) -> Any:
    """A resolved input (pipelines.data.load.Source) as a numbered dask DataFrame: Parquet read on the workers in
    pieces of about `partition_size`; CSV (no row groups to cut at) read here and sent in row blocks."""
    if source.format != "parquet":
        from distributed import default_client  # imported when a run has a cluster

        frame = load(source, backend, columns)
        scattered, _ = scatter_frame(default_client(), frame, partition_size)
        return renumber(scattered)
    if columns is not None:
        require_columns(source, columns)
    check_reserved_names(columns or source.columns, str(source.files[0]))
    return read_parquet(list(source.files), backend, columns, row_bytes(source), partition_bytes(partition_size))


def read_parquet(paths: list[Path], backend: Any, columns: list[str] | None, row_bytes: int, size: int) -> Any:
    """The files as a dask DataFrame of the backend's frames, read on the workers piece by piece, indexed by
    global row number (known divisions). `read_parquet_piece` reads one, as `backend.read_parquet` would."""
    import dask
    import dask.dataframe as dd

    cut = pieces(paths, row_bytes, size)
    if not cut:  # no rows at all: one empty partition
        return dd.from_pandas(backend.to_pandas(backend.read_parquet(paths, columns=columns)), npartitions=1)
    offsets = [0, *itertools.accumulate(piece.rows for piece in cut)]
    meta = read_parquet_piece(backend.name, Piece(cut[0].path, cut[0].row_groups, 0, 0), columns, 0)
    parts = [
        dask.delayed(_read_piece)(backend.name, piece, columns, offset)
        for piece, offset in zip(cut, offsets, strict=False)
    ]
    return dd.from_delayed(parts, meta=meta, divisions=(*offsets[:-1], offsets[-1] - 1), verify_meta=False)


def _read_piece(kind: str, piece: Piece, columns: list[str] | None, offset: int) -> Any:
    """One piece, read on a worker; a file it cannot read is a DataError naming the file and the worker's host."""
    try:
        return read_parquet_piece(kind, piece, columns, offset)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError; a missing file an OSError
        raise DataError(
            f"A Dask worker on {socket.gethostname()} could not read rows {offset:,} to {offset + piece.rows - 1:,} "
            f"of {piece.path} ({type(exc).__name__}: {' '.join(str(exc).split())[:300]}). Check that the file is "
            "complete, and that every worker sees the input at the same path (the workers read it themselves)."
        ) from exc
