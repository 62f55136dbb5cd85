"""TargetEncode: a category's mean target, smoothed toward the global mean, as a float32 feature.

The training split's own rows get out-of-fold values: rows are dealt into `folds` seeded folds and each fold
is encoded with statistics from the others, so no row sees its own label. Other splits and new rows use the
statistics of the whole training split. pandas and cuDF (groupby().agg, merge); the folds are drawn with NumPy,
so both backends give the same values.
"""

from __future__ import annotations

from typing import Any

from pipelines.errors import ConfigError
from pipelines.features.base import NUMERIC, Op
from pipelines.features.tables import group_stats, lookup, out_of_fold
from pipelines.target import TARGET

COUNT, TOTAL = "__count__", "__sum__"


class TargetEncode(Op):
    """Adds `<column>_te` = (sum of target + smoothing * prior) / (count + smoothing) per column.

    `prior` is the training mean of `target` (a 0/1 label or a number); a value with few rows stays near it,
    and an unseen or null value gets it exactly. `target` itself is never an output.
    """

    def __init__(
        self, columns: list[str], target: str = TARGET, smoothing: float = 20.0, folds: int = 5, seed: int = 0
    ):
        self.columns = list(columns)
        self.target = target
        self.smoothing = smoothing
        self.folds = folds
        self.seed = seed

    def fit(self, frame: Any) -> TargetEncode:
        if self.target in self.columns:
            raise ConfigError(f"TargetEncode: the target {self.target!r} cannot encode itself; take it out of columns.")
        if not self.smoothing > 0:
            raise ConfigError(f"TargetEncode: smoothing must be above 0, found {self.smoothing}.")
        self.check_columns(frame, [*self.columns, self.target])
        frame = frame.assign(**{self.target: frame[self.target].astype("float64")})
        prior = frame[self.target].mean()
        self.prior_ = 0.0 if prior is None or prior != prior else float(prior)  # no labels: 0
        names = {"count": COUNT, "sum": TOTAL}
        self.stats_ = {c: group_stats(frame, [c], self.target, names) for c in self.columns}
        self.outputs_ = {f"{c}_te": NUMERIC for c in self.columns}
        return self

    def transform(self, frame: Any) -> Any:
        self.check_fitted()
        self.check_columns(frame, self.columns)
        encoded = frame.copy(deep=False)
        weight, prior = self.smoothing, self.prior_
        for column in self.columns:
            stats = lookup(frame, [column], self.stats_[column])
            count, total = stats[COUNT].astype("float64").fillna(0.0), stats[TOTAL].fillna(0.0)
            encoded[f"{column}_te"] = ((total + weight * prior) / (count + weight)).astype("float32")
        return encoded

    def transform_train(self, frame: Any) -> Any:
        """Out-of-fold encodings of the training split (each fold from statistics of the other folds)."""
        self.check_fitted()
        return out_of_fold(self, frame, [*self.columns, self.target], self.folds, self.seed)
