"""GroupbyAggregate: statistics of columns over key groups, learned on the training split and looked up for
any split (mean distance per carrier, spread of seats per route); pandas and cuDF (groupby().agg, merge).

Fitted from per-group tables merged over partitions (counts and sums added, mean and M2 by Chan's formula, min
and max kept; for medians, rows per group and value, added), so no statistic depends on the partitioning. The
whole-split fallbacks are the same tables over one group. Out-of-fold folds: pipelines.features.folds."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipelines.cluster.frames import Frames, takes_partitions
from pipelines.data.target import TARGET
from pipelines.errors import ConfigError
from pipelines.features import statistics
from pipelines.features.base import NUMERIC, Op
from pipelines.features.folds import out_of_fold
from pipelines.features.tables import filled, lookup

AGGREGATIONS = ("count", "mean", "std", "min", "max", "median", "sum")
ALL = "__all__"  # the one key of the whole-split table
N, TOTAL, MEAN, M2, LOW, HIGH = statistics.GROUP_COLUMNS


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

    def validate(self, sample: Any) -> None:
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
        self.check_columns(sample, [*self.keys, *self.columns])

    def partial(self, frame: Any) -> dict[str, Any]:
        """Per column: its group table, the whole split's (one group), and for medians the counts per value."""
        stats = {}
        for column in self.columns:
            values = frame[self.keys].assign(**{column: frame[column].astype("float64"), ALL: 0})
            tables = {"groups": (self.keys, values), "all": ([ALL], values)}
            stats[column] = {name: statistics.group_table(v, k, column) for name, (k, v) in tables.items()}
            if "median" in self.aggregations:
                for name, (keys, v) in tables.items():
                    stats[column][f"{name}_values"] = statistics.group_value_counts(v, keys, column)
        return stats

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        merged = {}
        for column, tables in a.items():
            merged[column] = {}
            for name, table in tables.items():
                keys = self.keys if name.startswith("groups") else [ALL]
                other = b[column][name]
                if name.endswith("_values"):
                    merged[column][name] = statistics.merge_sums(table, other, [*keys, column])
                else:
                    merged[column][name] = statistics.merge_group_tables(table, other, keys)
        return merged

    def finish(self, stats: dict[str, Any], order: dict[str, dict[int, float]]) -> GroupbyAggregate:
        prefix = self.name or "_".join(self.keys)
        self.stats_, self.fallback_ = {}, {}
        for column, tables in stats.items():
            names = {a: f"{prefix}_{column}_{a}" for a in self.aggregations}
            self.stats_[column] = _aggregated(tables, "groups", self.keys, column, names)
            overall = _aggregated(tables, "all", [ALL], column, names)
            for aggregation, output in names.items():
                value = 0.0 if aggregation == "count" or len(overall) == 0 else overall[output].iloc[0]
                # pd.isna: NaN, None, or the NA scalar cuDF gives for an all-null column (NA == NA is not a bool)
                self.fallback_[output] = 0.0 if pd.isna(value) else float(value)
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

    @takes_partitions
    def transform_train(self, frame: Any) -> Any:
        self.check_fitted()
        if self.folds < 2:
            return Frames(frame).map(_transform, self)
        return out_of_fold(self, frame, self.keys, self.columns, self.folds, self.seed)


def _transform(frame: Any, op: GroupbyAggregate) -> Any:
    return op.transform(frame)


def _aggregated(tables: dict[str, Any], name: str, keys: list[str], column: str, names: dict[str, str]) -> Any:
    """The keys, then each aggregation (in `names`' order, named by it) from a merged group table."""
    table = tables[name]
    count = table[N].astype("float64")
    columns = {
        "count": table[N],
        "mean": table[MEAN],
        "std": ((table[M2] / (count - 1)) ** 0.5).where(count > 1),
        "min": table[LOW],
        "max": table[HIGH],
        "sum": table[TOTAL],
    }
    result = table[keys].copy()
    if "median" in names:
        medians = lookup(table[keys], keys, statistics.group_medians(tables[f"{name}_values"], keys, column))
        columns["median"] = medians["median"]
    for aggregation, output in names.items():
        result[output] = columns[aggregation]
    return result
