"""DatetimeParts: calendar parts of a datetime column as float32 numbers (hour, day of week, ...), and
optionally their cyclical encodings, so that hour 23 sits next to hour 0; pandas and cuDF. A column that does not
hold datetimes (text in new rows) is a SchemaError naming it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pipelines.backend import sample_values
from pipelines.data.validate import column_kind
from pipelines.errors import ConfigError, SchemaError
from pipelines.features.base import NUMERIC, Op

PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "minute")
PERIODS = {"month": 12, "day": 31, "dayofweek": 7, "dayofyear": 366, "hour": 24, "minute": 60}


class DatetimeParts(Op):
    """Adds `<column>_<part>` for each part, and `<column>_<part>_sin` / `_cos` for each part in `cyclical`
    (the part's angle on its period: 24 hours, 7 days, ...). The datetime column is left for others to drop."""

    def __init__(
        self,
        column: str,
        parts: tuple[str, ...] = ("month", "day", "dayofweek", "hour"),
        cyclical: tuple[str, ...] = (),
    ):
        self.column = column
        self.parts = tuple(parts)
        self.cyclical = tuple(cyclical)

    def validate(self, sample: Any) -> None:
        unknown = [p for p in self.parts if p not in PARTS]
        if unknown:
            raise ConfigError(f"DatetimeParts: unknown part(s) {unknown}; expected any of {PARTS}.")
        not_cyclic = [p for p in self.cyclical if p not in PERIODS]
        if not_cyclic:
            raise ConfigError(f"DatetimeParts: part(s) {not_cyclic} have no cycle; cyclical takes {tuple(PERIODS)}.")
        self.check_columns(sample, [self.column])

    def finish(self, stats: Any, order: dict[str, dict[int, float]]) -> DatetimeParts:
        self.outputs_ = {f"{self.column}_{p}": NUMERIC for p in self.parts}
        self.outputs_.update({f"{self.column}_{p}_{f}": NUMERIC for p in self.cyclical for f in ("sin", "cos")})
        return self

    def transform(self, frame: Any) -> Any:
        self.check_fitted()
        self.check_columns(frame, [self.column])
        series = frame[self.column]
        if column_kind(series.dtype) != "datetime":
            raise SchemaError(
                f"DatetimeParts expected column {self.column!r} to hold datetimes, found {series.dtype} "
                f"(e.g. {sample_values(series)}). "
                "Give it timestamps, as in training (in a CSV file: ISO 8601, such as 2024-01-31T09:30:00)."
            )
        frame = frame.copy(deep=False)
        accessor = series.dt
        for part in self.parts:
            frame[f"{self.column}_{part}"] = getattr(accessor, part).astype("float32")
        for part in self.cyclical:
            angle = getattr(accessor, part).astype("float64") * (2 * math.pi / PERIODS[part])
            frame[f"{self.column}_{part}_sin"] = np.sin(angle).astype("float32")
            frame[f"{self.column}_{part}_cos"] = np.cos(angle).astype("float32")
        return frame
