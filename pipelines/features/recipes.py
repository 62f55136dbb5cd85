"""Choosing ops from column types, for a table the project has never seen.

numeric -> FillMissing + Standardize; bool -> the same, as 0/1; string/categorical -> Categorify, and with
more than HIGH_CARDINALITY training values also TargetEncode (out-of-fold on train) on the encoded target;
datetime -> DatetimeParts (then filled and standardised). A whole-number or string column whose value is
unique on every training row (an ID, a row number) is left out, and the notes say so. The training split may be
a dask DataFrame: its distinct counts are computed over the partitions.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipelines.cluster.partitions import computed, rows
from pipelines.data.split import Part
from pipelines.data.target import TARGET
from pipelines.data.validate import column_kind
from pipelines.errors import DataError
from pipelines.features.categorify import Categorify
from pipelines.features.datetime_parts import DatetimeParts
from pipelines.features.numeric import FillMissing, Standardize
from pipelines.features.target_encode import TargetEncode
from pipelines.features.workflow import Workflow

DATETIME_PARTS = ("year", "month", "day", "dayofweek", "hour")
HIGH_CARDINALITY = 50  # distinct training values above which a string column is also target-encoded


def from_column_types(train: Part, exclude: list[str]) -> tuple[Workflow, list[str]]:
    """A workflow for every usable column of `train` not in `exclude`, and notes on what was left out."""
    frame = train.frame
    numeric, categorical, datetimes, notes = [], [], [], []
    for column in frame.columns:
        if column in exclude:
            continue
        kind = column_kind(frame[column].dtype)
        if kind in ("numeric", "string") and _is_identifier(frame[column], kind):
            notes.append(f"column {column!r} is unique on every training row (an ID?): not used as a feature")
            continue
        if kind == "datetime":
            datetimes.append(column)
        elif kind == "string":
            categorical.append(column)
        else:
            numeric.append(column)
    ops: list[Any] = [DatetimeParts(c, parts=DATETIME_PARTS) for c in datetimes]
    filled = numeric + [f"{c}_{p}" for c in datetimes for p in DATETIME_PARTS]
    encoded = [c for c in categorical if TARGET in frame.columns and distinct(frame[c]) > HIGH_CARDINALITY]
    if encoded:
        ops.append(TargetEncode(encoded, target=TARGET))
    if categorical:
        ops.append(Categorify(categorical, min_count=2))
    if filled:
        ops += [FillMissing(filled), Standardize(filled + [f"{c}_te" for c in encoded])]
    elif encoded:
        ops.append(Standardize([f"{c}_te" for c in encoded]))
    if not ops:
        raise_no_features(frame, exclude)
    return Workflow(ops), notes


def _is_identifier(series: Any, kind: str) -> bool:
    if kind == "numeric" and pd.api.types.is_float_dtype(series.dtype):
        return False  # continuous measurements are often all distinct
    count = rows(series)
    return count > 20 and distinct(series) == count


def distinct(series: Any) -> int:
    """The number of distinct non-null values of a column (computed over a dask Series' partitions)."""
    return int(computed(series.nunique()))


def raise_no_features(frame: Any, exclude: list[str]) -> None:
    raise DataError(
        f"No usable feature columns: the table has {list(frame.columns)[:20]}, of which {exclude} are the "
        "target, time or dropped columns. Give a table with at least one other column."
    )
