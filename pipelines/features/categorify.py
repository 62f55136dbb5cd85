"""Categorify: categories seen in training become int32 codes 1..K; unknown, rare and null map to 0."""

from __future__ import annotations

from typing import Any

from pipelines.backend import module_of
from pipelines.features.base import CATEGORICAL, Op

UNKNOWN = 0


class Categorify(Op):
    """Codes for the `max_categories` most frequent training values seen at least `min_count` times."""

    def __init__(self, columns: list[str], min_count: int = 1, max_categories: int = 10_000):
        self.columns = list(columns)
        self.min_count = min_count
        self.max_categories = max_categories

    def fit(self, frame: Any) -> Categorify:
        self.check_columns(frame, self.columns)
        self.categories_ = {}
        for column in self.columns:
            counts = frame[column].value_counts(dropna=True)
            counts = counts[counts >= self.min_count]
            top = counts.sort_values(ascending=False).head(self.max_categories).index
            values = top.to_pandas() if hasattr(top, "to_pandas") else top
            self.categories_[column] = sorted(v.item() if hasattr(v, "item") else v for v in values)
        self.outputs_ = {c: CATEGORICAL for c in self.columns}
        return self

    @property
    def cardinalities(self) -> dict[str, int]:
        """Number of codes per column, the reserved unknown code included."""
        self.check_fitted()
        return {c: len(cats) + 1 for c, cats in self.categories_.items()}

    def transform(self, frame: Any) -> Any:
        self.check_fitted()
        self.check_columns(frame, self.columns)
        dataframes = module_of(frame)
        frame = frame.copy(deep=False)
        for column in self.columns:
            categories = self.categories_[column]
            dtype = dataframes.CategoricalDtype(categories=categories)
            # Unknown values are nulled before the cast (pandas will refuse values outside the categories);
            # null then becomes -1 in pandas' codes and null in cuDF's: both map to the reserved code 0.
            known = frame[column].where(frame[column].isin(categories))
            codes = known.astype(dtype).cat.codes.fillna(-1).astype("int32")
            frame[column] = codes + 1
        return frame
