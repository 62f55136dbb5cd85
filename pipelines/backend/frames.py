"""Hooks for the feature ops (pipelines/features): the few pieces pandas and cuDF spell differently.

They dispatch on the frame itself (its module), not on a `Backend`, since an op only holds frames.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


def module_of(frame: Any) -> ModuleType:
    """The dataframe module (pandas or cudf) that `frame` belongs to."""
    if type(frame).__module__.split(".")[0] == "cudf":
        return importlib.import_module("cudf")
    return pd


def joined(parts: list[Any]) -> Any:
    """Row blocks (pandas or cuDF frames or series, in order) as one, numbered from 0."""
    return parts[0] if len(parts) == 1 else module_of(parts[0]).concat(parts, ignore_index=True)


def hasher_of(frame: Any) -> str:
    """The name of the hash `hash_buckets` applies to `frame`'s values: hashed codes differ between them."""
    return "cudf" if module_of(frame) is not pd else "pandas"


def hash_buckets(series: Any, buckets: int) -> Any:
    """A bucket in [0, buckets) per value (int64): pandas' `hash_pandas_object`, cuDF's `hash_values`.

    The two libraries hash differently, so codes derived from these buckets are backend-specific.
    """
    on_pandas = module_of(series) is pd
    hashed = pd.util.hash_pandas_object(series, index=False) if on_pandas else series.hash_values()
    return (hashed % buckets).astype("int64")


def category_codes(series: Any, categories: list) -> Any:
    """int32 codes of `series` in `categories` (1..K in their order), 0 for a value not among them or null.

    pandas: the column factorized once (Arrow strings by Arrow itself), its distinct values looked up in the
    categories, the codes taken from that small table: 3-7x faster than a cast to a categorical dtype, which turns
    Arrow strings into Python objects. cuDF: the cast, which stays on the device."""
    if module_of(series) is pd:
        codes, distinct = pd.factorize(series)  # null: -1, which takes the table's last entry, 0
        table = np.append(pd.Index(categories).get_indexer(distinct) + 1, 0).astype("int32")
        return pd.Series(table[codes], index=series.index)
    dtype = module_of(series).CategoricalDtype(categories=categories)
    # Unknown values are nulled before the cast; null is null in cuDF's codes: both map to 0.
    known = series.where(series.isin(categories))
    return (known.astype(dtype).cat.codes.fillna(-1).astype("int32") + 1).astype("int32")


def sample_values(series: Any, n: int = 3) -> list:
    """The first `n` non-null values of a pandas or cuDF column as Python objects, for an error message."""
    head = series.dropna().head(n)
    return (head if module_of(head) is pd else head.to_pandas()).tolist()


def like(table: Any, frame: Any) -> Any:
    """`table` (a small lookup: pandas or cuDF) in `frame`'s dataframe module, copied only when they differ."""
    if module_of(table) is module_of(frame):
        return table
    if module_of(frame) is pd:
        return table.to_pandas()
    return module_of(frame).from_pandas(table)


def host_copy(small: Any) -> Any:
    """A small pandas or cuDF frame or series (a count per column, a lookup) as pandas, to read in Python: cuDF
    refuses iteration (`items`, `tolist`), so what is read value by value is copied first (`to_pandas`)."""
    return small if module_of(small) is pd else small.to_pandas()


def column_values(series: Any) -> Any:
    """A column's values as an array of its device: NumPy for pandas, CuPy for cuDF (unverified on a GPU)."""
    return series.to_numpy() if module_of(series) is pd else series.values


def to_host(array: Any) -> Any:
    """A small array (counts, a handful of values) as NumPy: CuPy's copied with `.get()` (unverified on a GPU)."""
    return array.get() if hasattr(array, "get") else array


def index_values(frame: Any) -> Any:
    """`frame`'s index as an int64 array of its device (NumPy, or CuPy for cuDF: unverified on a GPU): integers as
    they are, datetimes as their int64 nanoseconds, any other index (text) by pandas' `hash_pandas_object`."""
    index = frame.index
    if module_of(frame) is not pd:
        return index.astype("int64").values
    if pd.api.types.is_integer_dtype(index.dtype) or pd.api.types.is_bool_dtype(index.dtype):
        return index.to_numpy().astype("int64")
    if pd.api.types.is_datetime64_any_dtype(index.dtype):
        return index.as_unit("ns").asi8
    return pd.util.hash_pandas_object(index, index=False).to_numpy().view("int64")


def read_parquet_piece(kind: str, piece: Any, columns: list[str] | None, offset: int) -> Any:
    """Rows of one Parquet file (a pipelines.data.read_partitioned.Piece: its row groups, the rows to skip in the first
    and how many) as a frame of the backend `kind` ("cpu" | "gpu"), as that backend's read_parquet types them,
    indexed from `offset` (the rows' global numbers). A worker runs it: it takes a name, not a Backend. The cuDF
    branch is unverified on a GPU."""
    if piece.rows == 0:  # the columns and their types only (a dask DataFrame's meta): no row group is read
        empty = pq.ParquetFile(piece.path).schema_arrow.empty_table()
        frame = (empty.select(columns) if columns is not None else empty).to_pandas()
        return frame if kind != "gpu" else importlib.import_module("cudf").from_pandas(frame)
    groups = list(piece.row_groups)
    if kind == "gpu":
        frame = importlib.import_module("cudf").read_parquet(piece.path, columns=columns, row_groups=[groups])
    else:
        table = pq.ParquetFile(piece.path).read_row_groups(groups, columns=columns, use_pandas_metadata=True)
        frame = table.slice(piece.skip, piece.rows).to_pandas()
        return frame.set_axis(pd.RangeIndex(offset, offset + len(frame)), axis=0)
    frame = frame.iloc[piece.skip : piece.skip + piece.rows].reset_index(drop=True)
    frame.index = frame.index + offset
    return frame
