"""GroupbyAggregate: statistics of columns over key groups, learned on the training split and looked up for
any split (mean distance per carrier, spread of seats per route); pandas and cuDF (groupby().agg, merge)."""

from __future__ import annotations

from typing import Any

from pipelines.errors import ConfigError
from pipelines.features.base import NUMERIC, Op
from pipelines.features.tables import filled, group_stats, lookup, out_of_fold
from pipelines.target import TARGET

AGGREGATIONS = ("count", "mean", "std", "min", "max", "median", "sum")


class GroupbyAggregate(Op):
    """Adds `<name>_<column>_<aggregation>` (name: the keys joined by "_") as float32, per training group.

    A group not seen in training (or a null key) gets count 0 and, for the other aggregations, the value over
    the whole training split; so does a one-row group's std. With `folds` >= 2 the training split's own rows get
    out-of-fold values (required when a column is the target, so that no row sees its own label).
    """

    def __init__(
        self,
        keys: list[str],
        columns: list[str],
        aggregations: tuple[str, ...] = ("count", "mean", "std"),
        folds: int = 0,
        seed: int = 0,
        name: str | None = None,
    ):
        self.keys = list(keys)
        self.columns = list(columns)
        self.aggregations = tuple(aggregations)
        self.folds = folds
        self.seed = seed
        self.name = name

    def fit(self, frame: Any) -> GroupbyAggregate:
        unknown = [a for a in self.aggregations if a not in AGGREGATIONS]
        if unknown:
            raise ConfigError(f"GroupbyAggregate: unknown aggregation(s) {unknown}; expected any of {AGGREGATIONS}.")
        if TARGET in self.columns and self.folds < 2:
            raise ConfigError(
                f"GroupbyAggregate over the target {TARGET!r} needs folds >= 2 (out-of-fold values for the training "
                "rows), or use TargetEncode."
            )
        if set(self.keys) & set(self.columns):
            raise ConfigError(f"GroupbyAggregate: {sorted(set(self.keys) & set(self.columns))} are keys and columns.")
        self.check_columns(frame, [*self.keys, *self.columns])
        prefix = self.name or "_".join(self.keys)
        self.stats_, self.fallback_ = {}, {}
        for column in self.columns:
            names = {a: f"{prefix}_{column}_{a}" for a in self.aggregations}
            values = frame[[*self.keys, column]].assign(**{column: frame[column].astype("float64")})
            self.stats_[column] = group_stats(values, self.keys, column, names)
            for aggregation, output in names.items():
                overall = 0.0 if aggregation == "count" else getattr(values[column], aggregation)()
                self.fallback_[output] = float(overall) if overall is not None and overall == overall else 0.0
        self.outputs_ = {output: NUMERIC for output in self.fallback_}
        return self

    def transform(self, frame: Any) -> Any:
        self.check_fitted()
        self.check_columns(frame, self.keys)
        frame = frame.copy(deep=False)
        for table in self.stats_.values():
            values = lookup(frame, self.keys, table)
            for output in values.columns:
                frame[output] = filled(values[output].astype("float64"), self.fallback_[output]).astype("float32")
        return frame

    def transform_train(self, frame: Any) -> Any:
        self.check_fitted()
        if self.folds < 2:
            return self.transform(frame)
        return out_of_fold(self, frame, [*self.keys, *self.columns], self.folds, self.seed)
