"""Timestamps in text: CSV has no column types, so ISO 8601 strings become datetime columns here.

A CSV column whose every value is an ISO 8601 date or timestamp (2024-01-31, 2024-01-31T09:30:00, with a space
for the T, seconds' fractions, Z or an offset) loads as a datetime column, as it would from Parquet; values with
an offset are converted to UTC and every column is timezone-naive. A column with one value that is not such a
timestamp stays text, and a time column (`--time-column`) that stays text is an error naming a bad value.
pandas and cuDF alike: the parse itself is the backend's (`Backend.to_datetime`).
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.backend import ISO_8601, Backend
from pipelines.data.validate import column_kind
from pipelines.errors import DataError

SHAPE = re.compile(ISO_8601)  # the shapes both backends parse
SAMPLE = 100  # values of a text column looked at before the whole column is parsed


def parse_timestamps(frame: Any, backend: Backend) -> Any:
    """`frame` with each text column whose values are all ISO 8601 timestamps as a datetime column."""
    for column in frame.columns:
        series = frame[column]
        if column_kind(series.dtype) != "string" or not _looks_like_timestamps(series, backend):
            continue
        parsed, bad = _parse(series, backend)
        if not len(bad):
            frame = frame.assign(**{column: parsed})
    return frame


def parse_time_column(frame: Any, column: str, backend: Backend) -> Any:
    """`frame` with its time column as datetimes (or numbers, kept as they are); a value that is not a timestamp
    is a DataError naming the column and the value."""
    series = frame[column]
    kind = column_kind(series.dtype)
    if kind in ("datetime", "numeric"):
        return frame
    if kind == "string":
        parsed, bad = _parse(series, backend)
        if not len(bad):
            return frame.assign(**{column: parsed})
        example = f"{len(bad)} such value(s), e.g. {backend.head_values(bad, 1)[0]!r}"
    else:
        example = f"values of type {series.dtype}, e.g. {backend.head_values(series, 1)}"
    raise DataError(
        f"The time column {column!r} must hold timestamps, but it has {example}. Expected ISO 8601 dates or "
        "timestamps such as 2024-01-31 or 2024-01-31T09:30:00: fix those values (or remove their rows), or leave "
        "out --time-column for a seeded random split."
    )


def _looks_like_timestamps(series: Any, backend: Backend) -> bool:
    sample = backend.head_values(series.dropna(), SAMPLE)
    return bool(sample) and all(isinstance(v, str) and SHAPE.fullmatch(v.strip()) for v in sample)


def _parse(series: Any, backend: Backend) -> tuple[Any, Any]:
    """The parsed column, and the values that did not parse (present but not a timestamp)."""
    parsed = backend.to_datetime(series)
    return parsed, series[series.notna() & parsed.isna()]
