"""Your own table: any Parquet or CSV file, folder or glob with a target column (`--data PATH --target COL`).

Rows without a target are dropped and counted; `--drop` columns are removed before anything sees them. Split
70/15/15 by `--time-column` when given, else seeded at random. With --cluster the table is read and split in
partitions on the Dask workers, with the same rows in each split as in one process. Features are chosen from the
column types (pipelines.features.recipes.from_column_types). New rows to score lose the same dropped columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines.backend import Backend
from pipelines.cluster.frames import Frames
from pipelines.cluster.partitions import rows
from pipelines.data.load import Source, head_rows, require_columns, resolve
from pipelines.data.placement import IN_PROCESS, Placement
from pipelines.data.split import Part, random_split, sample_rows, time_fraction_split
from pipelines.data.target import TARGET, encode_target
from pipelines.data.timestamps import parse_time_column
from pipelines.datasets.base import Dataset, Recipe
from pipelines.errors import ConfigError, DataError
from pipelines.features.recipes import from_column_types
from pipelines.features.workflow import Workflow


class Table(Recipe):
    """A user's table with a target column."""

    name = "table"
    # Measured: a 3M-row, 16-column table (0.46 GiB as frames) peaked at 1.9 GiB resident (docs/benchmarks.md).
    memory_factor = 5.0
    code = ("pipelines.datasets.table",)

    def check(self) -> None:
        self.source()

    def source(self) -> Source:
        """The resolved input, its target, time and dropped columns checked against the schema."""
        config = self.config
        if config.data is None or not config.target:
            raise ConfigError("Your own table needs --data PATH and --target: the name of the column to predict.")
        source = resolve(config.data)
        require_columns(source, [config.target], "target column")
        if config.time_column:
            require_columns(source, [config.time_column], "time column")
        if config.drop:
            require_columns(source, list(config.drop), "column to drop")
        _refuse_nested(source, set(config.drop))
        return source

    def input_files(self) -> list[Path]:
        return list(resolve(self.config.data).files)

    def load(self, backend: Backend, placement: Placement = IN_PROCESS) -> Dataset:
        """The table, sampled, its dropped columns removed, its time column parsed, its target encoded. With a
        Dask cluster (`placement`), Parquet is read in partitions on the workers, where the table stays (CSV is read
        here and sent to them in row blocks): pipelines.cluster.partitions."""
        config = self.config
        source = self.source()
        frame = placement.read(source, backend)
        frame = sample_rows(frame, config.sample, config.seed)
        frame = frame.drop(columns=list(config.drop)) if config.drop else frame
        if config.time_column:
            frame = Frames(frame).map(parse_time_column, config.time_column, backend)
        loaded = rows(frame)
        frame, target = encode_target(placement.hold(frame), config.target, config.task, backend)
        counts = {"rows_loaded": loaded, "dropped_missing_target": target.dropped_missing}
        return Dataset(frame=frame, target=target, inputs=self.hash_inputs(), counts=counts)

    def split(self, dataset: Dataset, backend: Backend) -> dict[str, Part]:
        if self.config.time_column:
            return time_fraction_split(dataset.frame, self.config.time_column)
        return random_split(dataset.frame, backend, seed=self.config.seed)

    def workflow(self, dataset: Dataset, train: Part) -> tuple[Workflow, list[str]]:
        config = self.config
        exclude = [config.target, TARGET] + ([config.time_column] if config.time_column else [])
        return from_column_types(train, exclude)

    def shape_to_score(self, frame: Any, backend: Backend, tables: dict[str, Path] | None = None) -> Any:
        drop = [c for c in self.config.drop if c in frame.columns]
        return frame.drop(columns=drop) if drop else frame

    def example_to_score(self, rows: int = 5) -> pd.DataFrame:
        example = head_rows(self.source(), rows)
        return example.drop(columns=[c for c in [self.config.target, *self.config.drop] if c in example.columns])


def _refuse_nested(source: Source, exempt: set[str]) -> None:
    """DataError naming the columns of lists, structs or maps (Parquet's nested types): no feature is made of them."""
    nested = [f for f in source.schema if f.name not in exempt and pa.types.is_nested(f.type)]
    if nested:
        found = ", ".join(f"{f.name!r} ({f.type})" for f in nested[:5])
        drops = " ".join(f"--drop {f.name}" for f in nested[:5])
        raise DataError(
            f"Expected columns of numbers, text, categories, booleans or timestamps, but {found} hold nested values "
            f"(lists, structs or maps), which no feature is made of. Leave them out with {drops}, or flatten them "
            "into plain columns first."
        )
