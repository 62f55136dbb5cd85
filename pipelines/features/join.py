"""Join: columns of a lookup table (airports, plane registry, store attributes) added to each row by keys.

The table is a parameter (pandas or cuDF; moved to the data's backend when used) and is saved as Parquet with
the workflow. The joined columns are raw inputs for other ops (FillMissing, Categorify, ...), not features.
"""

from __future__ import annotations

from typing import Any

from pipelines.errors import ConfigError, DataError, SchemaError
from pipelines.features.base import Op
from pipelines.features.tables import lookup


class Join(Op):
    """Left join on `on`: `columns` of `table` (all non-key columns when None), null where a row has no match.

    `prefix` is put before the joined columns' names. The keys must be unique in the table, so that the
    join never adds or drops rows.
    """

    def __init__(self, table: Any, on: list[str], columns: list[str] | None = None, prefix: str = ""):
        self.table = table
        self.on = list(on)
        self.columns = None if columns is None else list(columns)
        self.prefix = prefix

    def validate(self, sample: Any) -> None:
        self.check_columns(sample, self.on)
        columns = self._joined()
        absent = [c for c in [*self.on, *columns] if c not in self.table.columns]
        if absent:
            raise ConfigError(f"Join: the lookup table has no column(s) {absent}; it has {list(self.table.columns)}.")
        duplicated = int(self.table.duplicated(subset=self.on).sum())
        if duplicated:
            raise DataError(
                f"Join: {duplicated} rows of the lookup table repeat a key {self.on}; the join would repeat rows. "
                f"Deduplicate it first (table.drop_duplicates(subset={self.on}))."
            )
        clashes = [f"{self.prefix}{c}" for c in columns if f"{self.prefix}{c}" in sample.columns]
        if clashes:
            raise SchemaError(f"Join: the data already has column(s) {clashes}; give a prefix to tell them apart.")

    def finish(self, stats: Any, order: dict[str, dict[int, float]]) -> Join:
        self.names_ = {c: f"{self.prefix}{c}" for c in self._joined()}
        self.outputs_ = {}
        return self

    def _joined(self) -> list[str]:
        return self.columns if self.columns is not None else [c for c in self.table.columns if c not in self.on]

    def added_columns(self) -> list[str]:
        return list(self.names_.values())

    def transform(self, frame: Any) -> Any:
        self.check_fitted()
        self.check_columns(frame, self.on)
        table = self.table[[*self.on, *self.names_]].rename(columns=self.names_)
        values = lookup(frame, self.on, table)
        frame = frame.copy(deep=False)
        for column in self.names_.values():
            frame[column] = values[column]
        return frame
