"""DatetimeParts: calendar parts of a datetime column as float32 numbers (hour, day of week, ...)."""

from __future__ import annotations

from typing import Any

from pipelines.errors import ConfigError
from pipelines.features.base import NUMERIC, Op

PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "minute")


class DatetimeParts(Op):
    """Adds `<column>_<part>` for each part; the datetime column itself is left for others to drop."""

    def __init__(self, column: str, parts: tuple[str, ...] = ("month", "day", "dayofweek", "hour")):
        self.column = column
        self.parts = tuple(parts)

    def fit(self, frame: Any) -> DatetimeParts:
        unknown = [p for p in self.parts if p not in PARTS]
        if unknown:
            raise ConfigError(f"DatetimeParts: unknown part(s) {unknown}; expected any of {PARTS}.")
        self.check_columns(frame, [self.column])
        self.outputs_ = {f"{self.column}_{p}": NUMERIC for p in self.parts}
        return self

    def transform(self, frame: Any) -> Any:
        self.check_fitted()
        self.check_columns(frame, [self.column])
        frame = frame.copy(deep=False)
        accessor = frame[self.column].dt
        for part in self.parts:
            frame[f"{self.column}_{part}"] = getattr(accessor, part).astype("float32")
        return frame
