"""Numeric ops: FillMissing (median, with an optional missing indicator) and Standardize (float32).

Both refuse infinite values, naming the columns: inf is neither a missing value nor a number to scale.
"""

from __future__ import annotations

from typing import Any

from pipelines.features.base import NUMERIC, Op


class FillMissing(Op):
    """Replace nulls by the training median; add `<col>_missing` (0/1 float32) where train had nulls."""

    def __init__(self, columns: list[str], indicator: bool = True):
        self.columns = list(columns)
        self.indicator = indicator

    def fit(self, frame: Any) -> FillMissing:
        self.check_columns(frame, self.columns)
        self.check_finite(frame, self.columns)
        self.fill_ = {}
        self.flagged_ = []
        for column in self.columns:
            series = frame[column].astype("float64")
            median = series.median()
            self.fill_[column] = 0.0 if median is None or median != median else float(median)
            if self.indicator and bool(series.isna().any()):
                self.flagged_.append(column)
        self.outputs_ = {c: NUMERIC for c in self.columns}
        self.outputs_.update({f"{c}_missing": NUMERIC for c in self.flagged_})
        return self

    def added_columns(self) -> list[str]:
        return [f"{c}_missing" for c in self.flagged_]

    def transform(self, frame: Any) -> Any:
        frame = self.start_transform(frame)
        self.check_finite(frame, self.columns)
        for column in self.flagged_:
            frame[f"{column}_missing"] = frame[column].isna().astype("float32")
        for column in self.columns:
            frame[column] = frame[column].astype("float64").fillna(self.fill_[column]).astype("float32")
        return frame


class Standardize(Op):
    """(x - mean) / std with the training mean and std, as float32; a constant column becomes 0."""

    def __init__(self, columns: list[str]):
        self.columns = list(columns)

    def fit(self, frame: Any) -> Standardize:
        self.check_columns(frame, self.columns)
        self.check_finite(frame, self.columns)
        self.mean_, self.std_ = {}, {}
        for column in self.columns:
            series = frame[column].astype("float64")
            mean, std = series.mean(), series.std()
            self.mean_[column] = float(mean) if mean == mean else 0.0
            # A (nearly) constant column would blow up to inf: it is centred and left unscaled.
            tiny = std != std or std <= 1e-12 * max(1.0, abs(self.mean_[column]))
            self.std_[column] = 1.0 if tiny else float(std)
        self.outputs_ = {c: NUMERIC for c in self.columns}
        return self

    def transform(self, frame: Any) -> Any:
        frame = self.start_transform(frame)
        self.check_finite(frame, self.columns)
        for column in self.columns:
            scaled = (frame[column].astype("float64") - self.mean_[column]) / self.std_[column]
            frame[column] = scaled.astype("float32")
        return frame
