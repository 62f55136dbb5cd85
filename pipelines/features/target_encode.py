"""TargetEncode: a category's mean target, smoothed toward the global mean, as a float32 feature.

The training split's own rows get out-of-fold values: each row's fold is a hash of its row key, the frame's
index, with `seed` (pipelines.features.folds), and each fold is encoded with statistics from the others, so no
row sees its own label; the folds depend neither on how the data is partitioned nor on the backend. Other splits
and new rows use the statistics of the whole training split. Fitted from counts and sums of the target per
value, added over partitions. pandas and cuDF (groupby().agg, merge).
"""

from __future__ import annotations

from typing import Any

from pipelines.cluster.frames import takes_partitions
from pipelines.data.target import TARGET
from pipelines.errors import ConfigError
from pipelines.features import statistics
from pipelines.features.base import NUMERIC, Op
from pipelines.features.folds import out_of_fold
from pipelines.features.tables import group_stats, lookup

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

    def validate(self, sample: Any) -> None:
        if self.target in self.columns:
            raise ConfigError(f"TargetEncode: the target {self.target!r} cannot encode itself; take it out of columns.")
        if not self.smoothing > 0:
            raise ConfigError(f"TargetEncode: smoothing must be above 0, found {self.smoothing}.")
        self.check_columns(sample, [*self.columns, self.target])

    def partial(self, frame: Any) -> dict[str, Any]:
        target = frame[self.target].astype("float64")
        frame = frame[self.columns].assign(**{self.target: target})
        names = {"count": COUNT, "sum": TOTAL}
        tables = {c: group_stats(frame, [c], self.target, names) for c in self.columns}
        return {"labels": (int(target.notna().sum()), float(target.sum())), "tables": tables}

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        labels = (a["labels"][0] + b["labels"][0], a["labels"][1] + b["labels"][1])
        tables = {c: statistics.merge_sums(a["tables"][c], b["tables"][c], [c]) for c in self.columns}
        return {"labels": labels, "tables": tables}

    def finish(self, stats: dict[str, Any], order: dict[str, dict[int, float]]) -> TargetEncode:
        count, total = stats["labels"]
        self.prior_ = total / count if count else 0.0  # no labels: 0
        self.stats_ = stats["tables"]
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

    @takes_partitions
    def transform_train(self, frame: Any) -> Any:
        """Out-of-fold encodings of the training split (each fold from statistics of the other folds)."""
        self.check_fitted()
        return out_of_fold(self, frame, self.columns, [self.target], self.folds, self.seed)
