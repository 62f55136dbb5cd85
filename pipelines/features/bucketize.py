"""Bucketize: numeric columns cut into bins whose int32 codes feed embeddings; pandas and cuDF."""

from __future__ import annotations

from typing import Any

from pipelines.errors import ConfigError
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

    def fit(self, frame: Any) -> Bucketize:
        if self.bins < 2 and not self.boundaries:
            raise ConfigError(f"Bucketize: bins must be at least 2, found {self.bins}.")
        self.check_columns(frame, self.columns)
        given = self.boundaries or {}
        self.edges_ = {}
        for column in self.columns:
            if column in given:
                edges = [float(e) for e in given[column]]
            else:
                series = frame[column].astype("float64")
                edges = [float(series.quantile(i / self.bins)) for i in range(1, self.bins)]
            self.edges_[column] = sorted({e for e in edges if e == e})  # NaN: an all-null column
        self.outputs_ = {f"{c}_bucket": CATEGORICAL for c in self.columns}
        return self

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
