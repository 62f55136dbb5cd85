"""Log1p: compresses skewed numeric columns (counts, amounts, distances) as float32; pandas and cuDF."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.features.base import NUMERIC, Op


class Log1p(Op):
    """sign(x) * log(1 + |x|): log1p for non-negative values, and finite, odd and monotone for negative ones.

    Stateless; nulls stay null (put FillMissing after it, or before it to fill with the raw median).
    """

    def __init__(self, columns: list[str]):
        self.columns = list(columns)

    def finish(self, stats: Any, order: dict[str, dict[int, float]]) -> Log1p:
        self.outputs_ = {c: NUMERIC for c in self.columns}
        return self

    def transform(self, frame: Any) -> Any:
        frame = self.start_transform(frame)
        for column in self.columns:
            values = frame[column].astype("float64")
            magnitude = np.log1p(values.abs())
            frame[column] = magnitude.where(values >= 0, -magnitude).astype("float32")
        return frame
