"""The flights and their context for the default job (pipelines.datasets.flights): what is known before departure.

Flights are joined with the origin's weather at the scheduled hour and over the hours before it, with the
plane's attributes, and with congestion counts from the published schedule (`join_context`, used for new rows
to score too). Cancelled or diverted flights (no arr_delay) are dropped and counted, after the schedule was
counted. Columns only known after departure are declared in LEAKAGE and dropped before any feature sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.backend import Backend, module_of
from pipelines.cluster.frames import Frames, is_partitioned
from pipelines.cluster.partitions import computed, persisted, renumber, rows
from pipelines.data.split import sample_rows
from pipelines.data.validate import Rule, validate
from pipelines.features import GroupCount
from pipelines.features.tables import lookup

TARGET = "delayed"
TIME_COLUMN = "sched_dep"
DELAY_MINUTES = 15
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
# Congestion from the published schedule (see GroupCount): counted over every scheduled flight, the cancelled
# ones too, because which flights get cancelled is known only on the day.
SCHEDULE_COUNTS = [
    GroupCount(["origin"], TIME_COLUMN, "h", name="origin_hour_departures"),
    GroupCount(["origin"], TIME_COLUMN, "D", name="origin_day_departures"),
    GroupCount(["carrier", "origin"], TIME_COLUMN, "D", name="carrier_origin_day_departures"),
    GroupCount(["dest"], TIME_COLUMN, "D", name="dest_day_departures"),
    GroupCount(["tailnum"], TIME_COLUMN, "D", name="tail_day_legs"),
    GroupCount(["tailnum"], TIME_COLUMN, "D", earlier=True, name="tail_earlier_legs"),
]
# The origin's weather over the hours before the scheduled hour (observed before departure):
# column -> (weather column, hours back, how they are summarised).
WEATHER_BEFORE = {
    "precip_prev3": ("precip", 3, "sum"),
    "precip_prev6": ("precip", 6, "sum"),
    "precip_prev12": ("precip", 12, "sum"),
    "precip_prev24": ("precip", 24, "sum"),
    "visib_prev6_min": ("visib", 6, "min"),
    "visib_prev12_min": ("visib", 12, "min"),
    "wind_speed_prev6_max": ("wind_speed", 6, "max"),
    "wind_gust_prev6_max": ("wind_gust", 6, "max"),
    "humid_prev6_mean": ("humid", 6, "mean"),
}


Sample = tuple[float | None, int] | None  # the fraction of the flights a run keeps, and the seed that draws them


@dataclass
class Prepared:
    frame: Any
    rows_in: int
    dropped_cancelled: int


def prepare(flights: Any, weather: Any, planes: Any, backend: Backend, sample: Sample = None) -> Prepared:
    """Validated flights with their context (`join_context`) and the target; cancelled flights dropped after the
    schedule was counted (the counts include them) and before the weather and planes are looked up. `sample`
    (a fraction of the rows and a seed: --sample, --seed) is drawn after the counts, which are of the whole
    schedule: a flight's congestion is what its day's schedule held, however many of its rows a run samples.
    `flights` may be a numbered dask DataFrame (pipelines.cluster.partitions): the rows kept are numbered again,
    as here."""
    flights = persisted(flights)  # read once: the validation, the counts and the filter pass over it
    validate(flights, FLIGHT_RULES, backend, name="flights")
    flights = schedule_counts(flights.assign(**{TARGET: (flights["arr_delay"] > DELAY_MINUTES).astype("int32")}))
    if sample is not None and sample[0] is not None and sample[0] < 1:
        flights = persisted(sample_rows(flights, *sample))
    rows_in = rows(flights)
    flown = flights["arr_delay"].notnull()
    if not bool(computed(flown.all())):
        flights = flights[flown]
        flights = renumber(persisted(flights)) if is_partitioned(flights) else flights.reset_index(drop=True)
    frame = persisted(with_context(flights, weather, planes))
    return Prepared(frame, rows_in, rows_in - rows(frame))


def join_context(flights: Any, weather: Any, planes: Any, backend: Backend) -> Any:
    """Scheduled flights (cancelled ones included) with what is known before departure: the schedule counts,
    the origin's weather at the scheduled hour and over the hours before, the plane's attributes. LEAKAGE
    columns are dropped; rows keep their order (for new rows to score, too)."""
    return with_context(schedule_counts(flights), weather, planes)


def schedule_counts(flights: Any) -> Any:
    """`flights` with the SCHEDULE_COUNTS columns (counted over every row given; a dask DataFrame is held on the
    workers after each count, which the next one counts from)."""
    for count in SCHEDULE_COUNTS:
        flights = persisted(count.fit_transform(flights))
    return flights


def with_context(flights: Any, weather: Any, planes: Any) -> Any:
    """`flights` less LEAKAGE, with the weather and plane columns of each row, in the rows' order: over each
    partition of a dask DataFrame, the small context tables going to every worker.

    The context columns are looked up by key and attached beside the flights' own columns: the flights are
    never copied by a merge (on 10M rows a merge held the whole table twice)."""
    weather = weather[["origin", "time_hour", *WEATHER_COLUMNS]].drop_duplicates(subset=["origin", "time_hour"])
    weather = weather_before(weather)
    planes = planes[["tailnum", *PLANE_COLUMNS]].drop_duplicates(subset=["tailnum"]).rename(columns=PLANE_COLUMNS)
    return Frames(flights).map(attach_context, weather, planes)


def attach_context(flights: Any, weather: Any, planes: Any) -> Any:
    """One frame of flights less LEAKAGE, with its rows' weather (with the hours before) and plane columns."""
    frame = flights.drop(columns=[c for c in LEAKAGE if c in flights.columns])
    context = [lookup(frame, ["origin", "time_hour"], weather), lookup(frame, ["tailnum"], planes)]
    return module_of(frame).concat([frame, *context], axis=1)


def weather_before(weather: Any) -> Any:
    """`weather` (one row per origin and hour) with the WEATHER_BEFORE summaries of the hours before each row."""
    keys = ["origin", "time_hour"]
    measures = sorted({measure for measure, _, _ in WEATHER_BEFORE.values()})
    longest = max(hours for _, hours, _ in WEATHER_BEFORE.values())
    earlier = {}  # hours back -> the measures observed then, aligned with `weather`'s rows
    for back in range(1, longest + 1):
        shifted = weather[[*keys, *measures]].assign(time_hour=weather["time_hour"] + pd.Timedelta(hours=back))
        earlier[back] = lookup(weather, keys, shifted)
    weather = weather.copy(deep=False)
    frames = module_of(weather)
    for name, (measure, hours, how) in WEATHER_BEFORE.items():
        window = frames.concat([earlier[back][measure].rename(str(back)) for back in range(1, hours + 1)], axis=1)
        weather[name] = getattr(window, how)(axis=1)
    return weather
