"""ConcatColumns: a new string column joining several columns' values (a route from origin and dest)."""

from __future__ import annotations

from typing import Any

from pipelines.features.base import Op


class ConcatColumns(Op):
    """`name` = the columns' values as strings joined by `sep`; an input for Categorify, not a feature."""

    def __init__(self, columns: list[str], name: str, sep: str = "-"):
        self.columns = list(columns)
        self.name = name
        self.sep = sep

    def finish(self, stats: Any, order: dict[str, dict[int, float]]) -> ConcatColumns:
        self.outputs_ = {}
        return self

    def added_columns(self) -> list[str]:
        return [self.name]

    def transform(self, frame: Any) -> Any:
        frame = self.start_transform(frame)
        joined = frame[self.columns[0]].astype("str")
        for column in self.columns[1:]:
            joined = joined + self.sep + frame[column].astype("str")
        frame[self.name] = joined
        return frame
