"""Clip: bounds numeric columns to fixed limits or to training quantiles, as float32; pandas and cuDF."""

from __future__ import annotations

from typing import Any

from pipelines.errors import ConfigError
from pipelines.features.base import NUMERIC, Op


class Clip(Op):
    """Values below `lower` / above `upper` are set to them. A bound given as `lower_quantile` /
    `upper_quantile` is that quantile of the training values; fixed bounds win over quantiles. Nulls stay null.
    """

    def __init__(
        self,
        columns: list[str],
        lower: float | None = None,
        upper: float | None = None,
        lower_quantile: float | None = None,
        upper_quantile: float | None = None,
    ):
        self.columns = list(columns)
        self.lower = lower
        self.upper = upper
        self.lower_quantile = lower_quantile
        self.upper_quantile = upper_quantile

    def fit(self, frame: Any) -> Clip:
        for name in ("lower_quantile", "upper_quantile"):
            q = getattr(self, name)
            if q is not None and not 0.0 <= q <= 1.0:
                raise ConfigError(f"Clip: {name} must be within [0, 1], found {q}.")
        self.check_columns(frame, self.columns)
        self.bounds_ = {}
        for column in self.columns:
            series = frame[column].astype("float64")
            lower = self.lower if self.lower is not None else _quantile(series, self.lower_quantile)
            upper = self.upper if self.upper is not None else _quantile(series, self.upper_quantile)
            if lower is not None and upper is not None and lower > upper:
                raise ConfigError(f"Clip: the lower bound {lower} of {column!r} is above the upper bound {upper}.")
            self.bounds_[column] = [lower, upper]
        self.outputs_ = {c: NUMERIC for c in self.columns}
        return self

    def transform(self, frame: Any) -> Any:
        frame = self.start_transform(frame)
        for column in self.columns:
            lower, upper = self.bounds_[column]
            frame[column] = frame[column].astype("float64").clip(lower, upper).astype("float32")
        return frame


def _quantile(series: Any, q: float | None) -> float | None:
    if q is None:
        return None
    value = series.quantile(q)
    return None if value is None or value != value else float(value)  # all null: no bound
