"""GroupCount: how many rows of the frame being transformed share a row's keys, within a time period.

Time-safe by construction when the frame is a schedule: a flight's count of departures scheduled at the same
origin in the same hour (or day) is published before it departs, and no column of what actually happened
(departure times, delays, cancellations) enters it. The count is taken over the rows given, so give the whole
schedule of the period being scored, cancelled rows included, as the flights recipe does
(`pipelines.datasets.flights_context.prepare`). Learns nothing; pandas and cuDF (groupby().agg, merge, dt.floor).
Over a dask DataFrame the counts are of the whole frame (rows per group and time, added over partitions), then
looked up in each partition, so they do not depend on the partitioning.
"""

from __future__ import annotations

import functools
from typing import Any

from pipelines.cluster.frames import Frames, is_partitioned, takes_partitions
from pipelines.errors import ConfigError
from pipelines.features import statistics
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

    def validate(self, sample: Any) -> None:
        if self.time_column is None and (self.earlier or not self.keys):
            raise ConfigError("GroupCount: give a time_column (with keys, or alone); `earlier` needs one too.")
        self.check_columns(sample, self._inputs())

    def finish(self, stats: Any, order: dict[str, dict[int, float]]) -> GroupCount:
        self.outputs_ = {self.output: NUMERIC}
        return self

    @takes_partitions
    def transform(self, frame: Any) -> Any:
        """The counts over the whole frame given (every partition of a dask DataFrame), added to each row."""
        self.check_fitted()
        frames = Frames(frame)
        self.check_columns(frames.sample, self._inputs())
        if not is_partitioned(frame):  # one frame: counted in place, one groupby (a fifth of a count and a lookup)
            return self._with_count(frame, self._counted_in_place(frame))
        keys = self._keys()
        grouped = [*keys, TIME] if self.earlier else keys
        counts = frames.reduce(self._counts, functools.partial(statistics.merge_sums, keys=grouped))
        if self.earlier:
            # Rows of the group strictly earlier: the counts of the earlier times (ties count as simultaneous).
            counts = counts.sort_values(grouped).reset_index(drop=True)
            counts[ONE] = counts.groupby(keys, sort=False)[ONE].cumsum() - counts[ONE]
        return frames.map(self._add_counts, counts)

    def _keys(self) -> list[str]:
        return [*self.keys, *([PERIOD] if self.time_column is not None else [])]

    def _keyed(self, frame: Any) -> Any:
        keyed = frame[self.keys].assign(**{ONE: 1})
        if self.time_column is not None:
            keyed[PERIOD] = frame[self.time_column].dt.floor(self.period)
        if self.earlier:
            keyed[TIME] = frame[self.time_column]
        return keyed

    def _counts(self, frame: Any) -> Any:
        """Rows per key combination (and time, for `earlier`) of one partition."""
        grouped = [*self._keys(), *([TIME] if self.earlier else [])]
        return group_stats(self._keyed(frame), grouped, ONE, {"count": ONE})

    def _counted_in_place(self, frame: Any) -> Any:
        """Each row's count over `frame` itself: its group's size, or for `earlier` the rows of its group at
        earlier times (the rank of its time, ties taking the lowest, less one). Null where a key is null."""
        groups = self._keyed(frame).groupby(self._keys(), sort=False)
        return groups[TIME].rank(method="min") - 1 if self.earlier else groups[ONE].transform("count")

    def _add_counts(self, frame: Any, counts: Any) -> Any:
        grouped = [*self._keys(), *([TIME] if self.earlier else [])]
        return self._with_count(frame, lookup(self._keyed(frame), grouped, counts)[ONE])

    def _with_count(self, frame: Any, count: Any) -> Any:
        frame = frame.copy(deep=False)
        frame[self.output] = filled(count.astype("float64"), 0.0).astype("float32")
        return frame

    def _inputs(self) -> list[str]:
        return [*self.keys, *([self.time_column] if self.time_column else [])]
