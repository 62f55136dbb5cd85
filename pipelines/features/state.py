"""Op parameters and state as JSON, with every table in them (a Join's lookup, fitted statistics) written to
its own Parquet file beside the JSON file and named from it: `<stem>.<op index>.<key>.parquet`. Never pickle.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.features.base import is_table
from pipelines.files import atomic_path

TABLE = "__table__"


def dump(value: Any, name: str, write: Callable[[str, Any], str]) -> Any:
    """`value` with each table replaced by {"__table__": file name}, `write(name, table)` giving the name."""
    if is_table(value):
        return {TABLE: write(name, value)}
    if isinstance(value, dict):
        return {key: dump(item, f"{name}.{key}", write) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [dump(item, f"{name}.{i}", write) for i, item in enumerate(value)]
    return value


def restore(value: Any, read: Callable[[str], Any]) -> Any:
    """The inverse of `dump`: each {"__table__": file name} becomes the table `read(file name)`."""
    if isinstance(value, dict):
        if set(value) == {TABLE}:
            return read(value[TABLE])
        return {key: restore(item, read) for key, item in value.items()}
    if isinstance(value, list):
        return [restore(item, read) for item in value]
    return value


def table_writer(json_path: Path, written: list[Path]) -> Callable[[str, Any], str]:
    """Writes a table atomically as `<stem>.<name>.parquet` beside `json_path`; appends each path to `written`."""

    def write(name: str, table: Any) -> str:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        path = json_path.with_name(f"{json_path.stem}.{slug}.parquet")
        if path in written:
            path = path.with_name(f"{path.stem}-{len(written)}.parquet")
        with atomic_path(path) as tmp:
            table.to_parquet(tmp, index=False)
        written.append(path)
        return path.name

    return write


def table_reader(json_path: Path) -> Callable[[str], pd.DataFrame]:
    """Reads a table written by `table_writer` (as pandas; ops move it to the data's backend when used)."""
    return lambda name: pd.read_parquet(Path(json_path).with_name(name))
