"""Splits (`Part`: one split, named): by time when a time column is given (fixed boundaries or 70/15/15 by time),
else seeded random.

The time column holds datetimes, or numbers in time order (epoch seconds, a year).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.backend import Backend
from pipelines.cluster.frames import is_partitioned
from pipelines.cluster.partitions import gathered, persisted, renumber, rows, take_rows, uniform_draw
from pipelines.data.validate import column_kind
from pipelines.errors import DataError

NAMES = ("train", "valid", "test")


@dataclass(frozen=True)
class Part:
    """One split of the data, named, so a workflow can refuse to be fitted on anything but "train"."""

    name: str
    frame: Any

    def __len__(self) -> int:
        return len(self.frame)


def sample_rows(frame: Any, fraction: float | None, seed: int) -> Any:
    """`fraction` of the rows, in their order. The positions are drawn on the host with NumPy, so the same seed
    keeps the same rows on every backend (pandas' and cuDF's own `sample` draw differently), and on a numbered
    dask DataFrame (pipelines.cluster.partitions) the same rows as in one frame."""
    if fraction is None or fraction >= 1:
        return frame
    count = rows(frame)
    size = max(1, round(count * fraction))
    keep = np.sort(np.random.default_rng(seed).choice(count, size=size, replace=False))
    if is_partitioned(frame):
        return take_rows(frame, keep)
    return frame.take(keep).reset_index(drop=True)


def time_split(frame: Any, column: str, valid_start: Any, test_start: Any) -> dict[str, Part]:
    """train: before valid_start; valid: [valid_start, test_start); test: from test_start on."""
    times = frame[column]
    if column_kind(times.dtype) == "datetime":  # boundaries may be given as text; a numeric time stays numbers
        valid_start, test_start = pd.Timestamp(valid_start), pd.Timestamp(test_start)
    masks = {
        "train": times < valid_start,
        "valid": (times >= valid_start) & (times < test_start),
        "test": times >= test_start,
    }
    return _parts(frame, masks, f"time column {column!r} at {valid_start} and {test_start}")


def time_fraction_split(frame: Any, column: str, fractions: tuple[float, float] = (0.70, 0.85)) -> dict[str, Part]:
    """The earliest 70% of rows by `column` train, the next 15% validate, the latest 15% test. The boundaries of
    a dask DataFrame's rows come from its time column gathered here (8 bytes a row): the exact quantiles one frame
    gives, where dask's own are approximate."""
    times = gathered(frame[column])
    valid_start = times.quantile(fractions[0])
    test_start = times.quantile(fractions[1])
    return time_split(frame, column, valid_start, test_start)


def random_split(
    frame: Any, backend: Backend, seed: int = 0, fractions: tuple[float, float] = (0.70, 0.85)
) -> dict[str, Part]:
    """Seeded 70/15/15: the draw is made with NumPy and moved to the frame's device as one mask column; over a
    numbered dask DataFrame's partitions, each draws its own rows' share of the same numbers."""
    if is_partitioned(frame):
        u = uniform_draw(frame, seed)
    else:
        draw = np.random.default_rng(seed).random(len(frame))
        u = backend.xp.asarray(draw) if backend.is_gpu else draw
    masks = {"train": u < fractions[0], "valid": (u >= fractions[0]) & (u < fractions[1]), "test": u >= fractions[1]}
    return _parts(frame, masks, f"a seeded random split (seed {seed})")


def _parts(frame: Any, masks: dict[str, Any], how: str) -> dict[str, Part]:
    if is_partitioned(frame):  # each part numbered from 0 as below, and held on the workers
        parts = {name: Part(name, renumber(persisted(frame[masks[name]]))) for name in NAMES}
    else:
        parts = {name: Part(name, frame[masks[name]].reset_index(drop=True)) for name in NAMES}
    sizes = {name: rows(part.frame) for name, part in parts.items()}
    empty = [name for name, size in sizes.items() if size == 0]
    if empty:
        raise DataError(
            f"The {', '.join(empty)} split(s) are empty after {how} (sizes {sizes}). "
            "Give more rows, or a time column that spans the whole period."
        )
    return parts
