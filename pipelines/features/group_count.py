"""GroupCount: how many rows of the frame being transformed share a row's keys, within a time period.

Time-safe by construction when the frame is a schedule: a flight's count of departures scheduled at the same
origin in the same hour (or day) is published before it departs, and no column of what actually happened
(departure times, delays, cancellations) enters it. The count is taken over the rows given, so give the whole
schedule of the period being scored, cancelled rows included, as the flights recipe does
(`pipelines.datasets.flights_context.prepare`). Learns nothing; pandas and cuDF (groupby().agg, merge, dt.floor).
"""

from __future__ import annotations

from typing import Any

from pipelines.errors import ConfigError
from pipelines.features.base import NUMERIC, Op
from pipelines.features.tables import filled, group_stats, lookup

# The fixed periods that both pandas' and cuDF's `Series.dt.floor` take (cuDF takes no multiples like "2h").
PERIODS = ("D", "h", "min", "s", "ms", "us", "ns")
PERIOD = "__period__"
ONE = "__one__"
TIME = "__time__"


class GroupCount(Op):
    """Adds `name` (default `count_<keys>[_<period>]`): the number of rows with the same keys and, with
    `time_column`, the same `period` (one of PERIODS: "D", "h", "min", ...) of that time. With `earlier`, only
    the rows of that group scheduled strictly before the row (a plane's legs earlier in the day). Rows with a
    null key count 0. float32."""

    def __init__(
        self,
        keys: list[str],
        time_column: str | None = None,
        period: str = "D",
        earlier: bool = False,
        name: str | None = None,
    ):
        if period not in PERIODS:
            raise ConfigError(
                f"GroupCount: period {period!r} is not one of {PERIODS}, the periods both pandas and cuDF floor "
                "a time to (no multiples such as '2h', no calendar periods such as 'W' or 'MS')."
            )
        self.keys = list(keys)
        self.time_column = time_column
        self.period = period
        self.earlier = earlier
        self.name = name

    @property
    def output(self) -> str:
        period = [self.period] if self.time_column else []
        return self.name or "_".join(["count", *self.keys, *period, *(["earlier"] if self.earlier else [])])

    def fit(self, frame: Any) -> GroupCount:
        if self.time_column is None and (self.earlier or not self.keys):
            raise ConfigError("GroupCount: give a time_column (with keys, or alone); `earlier` needs one too.")
        self.check_columns(frame, self._inputs())
        self.outputs_ = {self.output: NUMERIC}
        return self

    def transform(self, frame: Any) -> Any:
        self.check_fitted()
        self.check_columns(frame, self._inputs())
        keyed = frame[self.keys].assign(**{ONE: 1})
        keys = list(self.keys)
        if self.time_column is not None:
            keyed[PERIOD] = frame[self.time_column].dt.floor(self.period)
            keys.append(PERIOD)
        if self.earlier:
            keyed[TIME] = frame[self.time_column]
            # rank "min" - 1: the rows of the group strictly earlier (ties count as simultaneous).
            count = keyed.groupby(keys)[TIME].rank(method="min") - 1
        else:
            count = lookup(keyed, keys, group_stats(keyed, keys, ONE, {"count": ONE}))[ONE]
        frame = frame.copy(deep=False)
        frame[self.output] = filled(count.astype("float64"), 0.0).astype("float32")
        return frame

    def _inputs(self) -> list[str]:
        return [*self.keys, *([self.time_column] if self.time_column else [])]
