"""Categorify: categories seen in training become int32 codes 1..K; unknown, rare and null map to 0.

With `hash_buckets`, values beyond the kept categories (rare, past `max_categories`, or unseen) get one of
`hash_buckets` codes after K from a hash of the value instead of 0. pandas and cuDF hash differently, so hashed
codes are backend-specific: a workflow whose Categorify hashes refuses to transform on the other backend.

Fitted from counts per value, added over partitions before any value is kept or numbered; the kept values are the
`max_categories` most frequent (ties broken by value) and are numbered in sorted order, so codes never depend on
how the data is partitioned.
"""

from __future__ import annotations

from typing import Any

from pipelines.backend import category_codes, hash_buckets, hasher_of, host_copy
from pipelines.data.validate import column_kind
from pipelines.errors import ConfigError
from pipelines.features import statistics
from pipelines.features.base import CATEGORICAL, Op

UNKNOWN = 0


class Categorify(Op):
    """Codes for the `max_categories` most frequent training values seen at least `min_count` times."""

    def __init__(self, columns: list[str], min_count: int = 1, max_categories: int = 10_000, hash_buckets: int = 0):
        self.columns = list(columns)
        self.min_count = min_count
        self.max_categories = max_categories
        self.hash_buckets = hash_buckets

    def validate(self, sample: Any) -> None:
        if self.hash_buckets < 0:
            raise ConfigError(f"Categorify: hash_buckets must be 0 (no hashing) or more, found {self.hash_buckets}.")
        self.check_columns(sample, self.columns)

    def partial(self, frame: Any) -> dict[str, Any]:
        counts = {c: statistics.value_counts(frame[c]) for c in self.columns}
        return {"counts": counts, "hasher": hasher_of(frame) if self.hash_buckets else None}

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        counts = {c: statistics.merge_counts(a["counts"][c], b["counts"][c]) for c in self.columns}
        return {"counts": counts, "hasher": a["hasher"]}

    def finish(self, stats: dict[str, Any], order: dict[str, dict[int, float]]) -> Categorify:
        self.categories_ = {}
        for column in self.columns:
            counts = stats["counts"][column]
            table = counts[counts >= self.min_count].reset_index()
            table.columns = ["value", "count"]
            # The most frequent first, ties in value order; only the kept values leave the device.
            top = table.sort_values(["count", "value"], ascending=[False, True]).head(self.max_categories)
            values = host_copy(top["value"])
            self.categories_[column] = sorted(v.item() if hasattr(v, "item") else v for v in values)
        self.hasher_ = stats["hasher"]
        self.outputs_ = {c: CATEGORICAL for c in self.columns}
        return self

    @property
    def cardinalities(self) -> dict[str, int]:
        """Number of codes per column, the reserved unknown code (and any hash buckets) included."""
        self.check_fitted()
        return {c: len(cats) + 1 + self.hash_buckets for c, cats in self.categories_.items()}

    def transform(self, frame: Any) -> Any:
        self.check_fitted()
        self.check_columns(frame, self.columns)
        if self.hasher_ is not None and hasher_of(frame) != self.hasher_:
            raise ConfigError(
                f"Categorify hashed values with {self.hasher_} when fitted, and {hasher_of(frame)} hashes "
                "differently: transform on the backend it was fitted on, or refit without hash_buckets."
            )
        frame = frame.copy(deep=False)
        for column in self.columns:
            codes = category_codes(frame[column], self.categories_[column])
            if self.hash_buckets:
                codes = codes.where(codes > UNKNOWN, self._hashed(frame[column], len(self.categories_[column])))
            frame[column] = codes.astype("int32")
        return frame

    def _hashed(self, series: Any, known: int) -> Any:
        """known + 1 + a hash bucket for each non-null value; 0 for null. Numbers hash as float64, so an
        integer column that gains nulls (and turns float) keeps its codes."""
        numeric = column_kind(series.dtype) in ("numeric", "bool")
        values = series.astype("float64") if numeric else series.astype("str")
        codes = hash_buckets(values, self.hash_buckets) + known + 1
        return codes.where(series.notna(), UNKNOWN)
