"""Numeric ops: FillMissing (median, with an optional missing indicator) and Standardize (float32).

Both refuse infinite values, naming the columns: inf is neither a missing value nor a number to scale.
Fitted from statistics per partition: the median exactly (order statistics), the mean and standard deviation
from moments merged with Chan et al.'s formula in float64.
"""

from __future__ import annotations

from typing import Any

from pipelines.features import statistics
from pipelines.features.base import NUMERIC, Op, add_counts, infinite_counts


class FillMissing(Op):
    """Replace nulls by the training median; add `<col>_missing` (0/1 float32) where train had nulls."""

    def __init__(self, columns: list[str], indicator: bool = True):
        self.columns = list(columns)
        self.indicator = indicator

    def partial(self, frame: Any) -> dict[str, Any]:
        present = {c: int(frame[c].astype("float64").notna().sum()) for c in self.columns}
        return {"rows": len(frame), "present": present, "infinite": infinite_counts(frame, self.columns)}

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return {"rows": a["rows"] + b["rows"], **{k: add_counts(a[k], b[k]) for k in ("present", "infinite")}}

    def ranks(self, stats: dict[str, Any]) -> dict[str, tuple[int, list[int]]]:
        self.refuse_infinite(stats["infinite"])
        return {c: (n, statistics.median_ranks(n)) for c, n in stats["present"].items()}

    def finish(self, stats: dict[str, Any], order: dict[str, dict[int, float]]) -> FillMissing:
        self.fill_ = {}
        for column, count in stats["present"].items():
            median = statistics.median(count, order[column])
            self.fill_[column] = 0.0 if median is None or median != median else median
        self.flagged_ = [c for c in self.columns if self.indicator and stats["present"][c] < stats["rows"]]
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

    def partial(self, frame: Any) -> dict[str, Any]:
        infinite = infinite_counts(frame, self.columns)
        # A column with inf is refused in finish; its moments are not worth computing (nor warning about).
        moments = {
            c: statistics.moments(frame[c].astype("float64")) if not infinite[c] else statistics.EMPTY
            for c in self.columns
        }
        return {"moments": moments, "infinite": infinite}

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        moments = {c: statistics.merge_moments(a["moments"][c], b["moments"][c]) for c in self.columns}
        return {"moments": moments, "infinite": add_counts(a["infinite"], b["infinite"])}

    def finish(self, stats: dict[str, Any], order: dict[str, dict[int, float]]) -> Standardize:
        self.refuse_infinite(stats["infinite"])
        self.mean_, self.std_ = {}, {}
        for column, moments in stats["moments"].items():
            count, mean, _ = moments
            std = statistics.std(moments)
            self.mean_[column] = float(mean) if count else 0.0
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
