"""Bucketize: numeric columns cut into bins whose int32 codes feed embeddings; pandas and cuDF.

Quantile edges are exact over partitions (order statistics, interpolated as pandas' `quantile` does).
"""

from __future__ import annotations

from typing import Any

from pipelines.errors import ConfigError
from pipelines.features import statistics
from pipelines.features.base import CATEGORICAL, Op

NULL_CODE = 0


class Bucketize(Op):
    """Adds `<column>_bucket`: 1 below the first edge, k + 1 from the k-th edge on, 0 for null.

    Edges are `boundaries[column]` where given, else the training quantiles at 1/bins, 2/bins, ...
    (repeated values merged, so a column with few distinct values gets fewer buckets).
    """

    def __init__(self, columns: list[str], bins: int = 10, boundaries: dict[str, list[float]] | None = None):
        self.columns = list(columns)
        self.bins = bins
        self.boundaries = boundaries

    def validate(self, sample: Any) -> None:
        if self.bins < 2 and not self.boundaries:
            raise ConfigError(f"Bucketize: bins must be at least 2, found {self.bins}.")
        self.check_columns(sample, self.columns)

    def partial(self, frame: Any) -> dict[str, int]:
        return {c: int(frame[c].astype("float64").notna().sum()) for c in self._learned()}

    def merge(self, a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return {c: a[c] + b[c] for c in a}

    def ranks(self, stats: dict[str, int]) -> dict[str, tuple[int, list[int]]]:
        return {c: (n, [r for q in self._levels() for r in statistics.quantile_ranks(n, q)]) for c, n in stats.items()}

    def finish(self, stats: dict[str, int], order: dict[str, dict[int, float]]) -> Bucketize:
        given = self.boundaries or {}
        self.edges_ = {}
        for column in self.columns:
            if column in given:
                edges = [float(e) for e in given[column]]
            else:
                quantiles = [statistics.quantile(stats[column], q, order[column]) for q in self._levels()]
                edges = [e for e in quantiles if e is not None]
            self.edges_[column] = sorted({e for e in edges if e == e})  # NaN: an all-null column
        self.outputs_ = {f"{c}_bucket": CATEGORICAL for c in self.columns}
        return self

    def _learned(self) -> list[str]:
        """The columns whose edges are training quantiles (no boundaries given)."""
        return [c for c in self.columns if c not in (self.boundaries or {})]

    def _levels(self) -> list[float]:
        return [i / self.bins for i in range(1, self.bins)]

    @property
    def cardinalities(self) -> dict[str, int]:
        self.check_fitted()
        return {f"{c}_bucket": len(edges) + 2 for c, edges in self.edges_.items()}

    def transform(self, frame: Any) -> Any:
        frame = self.start_transform(frame)
        for column in self.columns:
            values = frame[column].astype("float64")
            codes = (values == values).astype("int32")  # 1 for every non-null value, 0 for null
            for edge in self.edges_[column]:
                codes = codes + (values >= edge).astype("int32")
            frame[f"{column}_bucket"] = codes.where(values.notna(), NULL_CODE).astype("int32")
        return frame
