"""Clip: bounds numeric columns to fixed limits or to training quantiles, as float32; pandas and cuDF.

A quantile is exact over partitions: the values around it are found as order statistics
(pipelines.features.order) and interpolated as pandas' `quantile` does on the whole column.
"""

from __future__ import annotations

from typing import Any

from pipelines.errors import ConfigError
from pipelines.features import statistics
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

    def validate(self, sample: Any) -> None:
        for name in ("lower_quantile", "upper_quantile"):
            q = getattr(self, name)
            if q is not None and not 0.0 <= q <= 1.0:
                raise ConfigError(f"Clip: {name} must be within [0, 1], found {q}.")
        self.check_columns(sample, self.columns)

    def partial(self, frame: Any) -> dict[str, int]:
        return {c: int(frame[c].astype("float64").notna().sum()) for c in self.columns}

    def merge(self, a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return {c: a[c] + b[c] for c in self.columns}

    def ranks(self, stats: dict[str, int]) -> dict[str, tuple[int, list[int]]]:
        return {
            c: (n, [r for q in self._quantiles() for r in statistics.quantile_ranks(n, q)]) for c, n in stats.items()
        }

    def _quantiles(self) -> list[float]:
        wanted = [(self.lower, self.lower_quantile), (self.upper, self.upper_quantile)]
        return [q for fixed, q in wanted if fixed is None and q is not None]

    def finish(self, stats: dict[str, int], order: dict[str, dict[int, float]]) -> Clip:
        self.bounds_ = {}
        for column in self.columns:
            count, values = stats[column], order[column]
            lower = _bound(self.lower, self.lower_quantile, count, values)
            upper = _bound(self.upper, self.upper_quantile, count, values)
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


def _bound(fixed: float | None, q: float | None, count: int, order: dict[int, float]) -> float | None:
    """The fixed bound, else the `q` quantile (None for an all-null column: no bound), else none."""
    if fixed is not None or q is None:
        return fixed
    return statistics.quantile(count, q, order)
