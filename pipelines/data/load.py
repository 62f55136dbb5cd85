"""Loading Parquet (a file, a folder, a glob) or CSV into the backend's frame (pandas or cuDF).

The schema is read from Parquet metadata before any data, so a missing column or a corrupt file is reported
before anything is loaded, and the files of a folder or glob must agree on their columns (pipelines.data.schemas).
CSV has no metadata: each file's header and first rows are read first for the same checks, and its ISO 8601
timestamps are parsed into datetime columns (pipelines.data.timestamps), as Parquet would type them. A column whose
name begins with "__" (reserved for the pipeline's own columns) is refused.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.backend import Backend, cpu_backend, csv_delimiter
from pipelines.data.schemas import check_agreement
from pipelines.data.timestamps import parse_timestamps
from pipelines.data.validate import check_reserved_names
from pipelines.errors import DataError, SchemaError

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz")


@dataclass(frozen=True)
class Source:
    """Resolved input: its files, their format and the arrow schema read from metadata or header."""

    files: tuple[Path, ...]
    format: str  # "parquet" | "csv"
    schema: pa.Schema

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)


def resolve(path: str | Path) -> Source:
    """Find the files behind `path` and read their schema, without reading data."""
    files = _expand(str(path))
    formats = {_format_of(f) for f in files}
    if len(formats) != 1:
        found = ", ".join(sorted(f.name for f in files)[:5])
        raise DataError(f"Expected Parquet or CSV files under {path}, found a mix or neither: {found}.")
    fmt = formats.pop()
    schemas = [_parquet_schema(f) if fmt == "parquet" else _csv_schema(f) for f in files]
    check_agreement(files, schemas, by_kind=fmt == "csv")
    return Source(tuple(files), fmt, _unified(schemas) if fmt == "parquet" else schemas[0])


def require_columns(source: Source, columns: list[str], what: str = "column") -> None:
    """SchemaError naming every missing column and the columns that exist."""
    missing = [c for c in columns if c not in source.schema.names]
    if missing:
        shown = ", ".join(source.columns[:20]) + (" ..." if len(source.columns) > 20 else "")
        raise SchemaError(
            f"Expected {what} {', '.join(repr(m) for m in missing)} in {_name(source)}, "
            f"but it has only: {shown}. Check the spelling, or pass the right --target/--time-column/--drop."
        )


def load(source: Source, backend: Backend, columns: list[str] | None = None) -> Any:
    """The source's rows as one frame of `backend` (cudf.read_parquet on GPU, pyarrow/pandas on CPU)."""
    if columns is not None:
        require_columns(source, columns)
    frame = _read(source, backend, columns)
    check_reserved_names(list(frame.columns), _name(source))
    return frame


def head_rows(source: Source, rows: int) -> Any:
    """The first `rows` rows of the source's first file as a pandas frame, typed as `load` types them on the CPU
    (without reading the rest)."""
    first = source.files[0]
    try:
        if source.format == "parquet":
            batch = next(pq.ParquetFile(first).iter_batches(batch_size=rows), None)
            return (batch or source.schema.empty_table()).to_pandas()
        frame = pd.read_csv(first, sep=csv_delimiter(first), nrows=rows)
        return parse_timestamps(frame, cpu_backend())
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise DataError(f"Could not read {first}: {exc}. Check that the file is complete.") from exc


def _read(source: Source, backend: Backend, columns: list[str] | None) -> Any:
    try:
        if source.format == "parquet":
            return backend.read_parquet(list(source.files), columns=columns)
        frames = [backend.read_csv(f) for f in source.files]
        frame = frames[0] if len(frames) == 1 else backend.df.concat(frames, ignore_index=True)
        return parse_timestamps(frame if columns is None else frame[columns], backend)
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise DataError(f"Could not read {_name(source)}: {exc}. Check that the file is complete.") from exc


def _expand(path: str) -> list[Path]:
    candidate = Path(path).expanduser()
    if candidate.is_dir():
        files = sorted(p for p in candidate.rglob("*") if p.is_file() and _format_of(p) and _visible(p))
    elif any(ch in path for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(path, recursive=True) if Path(p).is_file())
    elif candidate.is_file():
        files = [candidate]
    else:
        raise DataError(f"Input {path} does not exist. Expected a Parquet or CSV file, a folder, or a glob.")
    if not files:
        raise DataError(f"Expected Parquet or CSV files under {path}, found none.")
    unknown = [f for f in files if not _format_of(f)]
    if unknown:
        raise DataError(
            f"Expected files ending in {', '.join(PARQUET_SUFFIXES + CSV_SUFFIXES)}, found {unknown[0].name}. "
            "Rename the file or convert it to Parquet or CSV."
        )
    return files


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def _visible(path: Path) -> bool:
    return not any(part.startswith((".", "_")) for part in path.parts[-1:])


def _parquet_schema(path: Path) -> pa.Schema:
    try:
        return pq.read_schema(path).remove_metadata()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(
            f"{path} is not a readable Parquet file ({exc}). It may be truncated or not Parquet at all: "
            "re-export it, or pass a CSV file instead."
        ) from exc


def _unified(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for files that agree (check_agreement): a column empty in some files takes the others' type."""
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SchemaError(f"The Parquet files under one input disagree on their schema: {exc}.") from exc


def _csv_schema(path: Path) -> pa.Schema:
    try:
        with pacsv.open_csv(path, parse_options=pacsv.ParseOptions(delimiter=csv_delimiter(path))) as reader:
            schema = reader.schema
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path} is not a readable CSV file ({exc}). Expected a header row and rows.") from exc
    _check_header(path, schema.names)
    return schema


def _check_header(path: Path, names: list[str]) -> None:
    """DataError for a header that names a column twice (a reader would rename one silently) or that is one
    column holding another separator."""
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(
            f"{path} has more than one column named {', '.join(repr(name) for name in repeated)}; expected one "
            "column per name. Rename the repeated columns in its header."
        )
    separators = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
    found = [what for sep, what in separators.items() if len(names) == 1 and sep in names[0]]
    if found:
        raise DataError(
            f"{path} was read as one column, {names[0]!r}: its fields are separated by {found[0]}, and CSV is read "
            "comma-separated (tab-separated for .tsv). Save it with commas, and run again."
        )


def _name(source: Source) -> str:
    return str(source.files[0]) if len(source.files) == 1 else f"{source.files[0].parent} ({len(source.files)} files)"
