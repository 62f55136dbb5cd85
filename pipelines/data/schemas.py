"""The files of one input (a folder or a glob) must agree on their columns: never a silent merge.

Every file has the same column names (in any order) and, per column, one type: for Parquet the type its metadata
records (string and large_string, or a dictionary of strings, count as one), for CSV the kind its first rows show
(numbers, text, timestamps, booleans). A column with no value at all in a file (arrow's null type) agrees with
any type. Otherwise a SchemaError lists the columns that differ and the files on each side. Reads schemas only.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from pipelines.errors import SchemaError

SHOWN_FILES = 4  # file names listed per side of a difference; the rest are counted


def check_agreement(files: list[Path], schemas: list[pa.Schema], by_kind: bool) -> None:
    """SchemaError listing every column that some files lack or that has different types across the files."""
    if len(files) < 2:
        return
    columns = list(dict.fromkeys(name for schema in schemas for name in schema.names))
    problems = []
    for column in columns:
        lacking = [f for f, s in zip(files, schemas, strict=True) if column not in s.names]
        if lacking:
            having = [f for f in files if f not in lacking]
            problems.append(f"column {column!r} is missing from {_few(lacking)} (it is in {_few(having)})")
            continue
        types: dict[str, list[Path]] = {}
        for path, schema in zip(files, schemas, strict=True):
            kind = _type_name(schema.field(column).type, by_kind)
            if kind is not None:
                types.setdefault(kind, []).append(path)
        if len(types) > 1:
            sides = " and ".join(f"{kind} in {_few(paths)}" for kind, paths in types.items())
            problems.append(f"column {column!r} is {sides}")
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SchemaError(
            f"The {len(files)} files under one input disagree on their columns:\n{lines}\n"
            "Every file of a folder or glob needs the same columns of the same types: re-export the odd files "
            "alike, or move them out of the folder."
        )


def _type_name(data_type: pa.DataType, by_kind: bool) -> str | None:
    """The type that must agree across files, or None for a column without values (null type)."""
    if pa.types.is_null(data_type):
        return None
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        data_type = pa.string()
    if not by_kind:
        return str(data_type)
    checks = [
        ("numeric", lambda t: pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)),
        ("boolean", pa.types.is_boolean),
        ("timestamp", lambda t: pa.types.is_timestamp(t) or pa.types.is_date(t)),
        ("string", pa.types.is_string),
    ]
    return next((kind for kind, check in checks if check(data_type)), str(data_type))


def _few(paths: list[Path]) -> str:
    names = [p.name for p in paths[:SHOWN_FILES]]
    more = len(paths) - len(names)
    return ", ".join(names) + (f" and {more} more" if more else "")
