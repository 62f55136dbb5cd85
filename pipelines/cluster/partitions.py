"""Tables held in partitions on a Dask cluster, every row numbered as in the whole table.

A run with --cluster reads its input in partitions on the workers instead of into this process
(pipelines.data.read_partitioned). What the
single-process path gets from the row's position (a seeded draw per row, the target-encoding folds, which rows a
sample keeps) comes here from a global row number: each partition's index is its rows' positions in the table,
and the dask DataFrame's divisions are those numbers, so each partition knows where it starts.

    renumber       positions 0..n-1 again after a filter (the split's parts), as `reset_index(drop=True)`
    take_rows      the rows at given positions (a sample), each partition taking its own
    uniform_draw   NumPy's default_rng(seed).random(n) laid over the partitions: the same numbers row for row
    computed       a lazy dask value computed; anything else as it is
    persisted      a dask DataFrame computed and held on the workers (before several passes over it)
    gathered       a dask DataFrame as one frame here, its partitions fetched from the workers one by one
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from pipelines.backend.frames import module_of


def is_partitioned(frame: Any) -> bool:
    """A dask DataFrame or Series (pandas partitions, or cuDF ones through dask_cudf)."""
    return hasattr(frame, "to_delayed") and hasattr(frame, "map_partitions")


def renumber(frame: Any) -> Any:
    """`frame`'s rows numbered 0..n-1 in order (known divisions), held on the workers; one pass to count each
    partition's rows. An empty partition is kept (its division repeats), so the number of partitions does not
    change."""
    import dask
    import dask.dataframe as dd

    offsets = [0, *itertools.accumulate(partition_lengths(frame))]
    parts = [dask.delayed(_numbered)(part, offset) for part, offset in zip(frame.to_delayed(), offsets, strict=False)]
    meta = _numbered(frame._meta, 0)
    divisions = None if offsets[-1] == 0 else (*offsets[:-1], offsets[-1] - 1)
    # Held on the workers before `frame` can go: the new partitions name the old ones by key only, and the old
    # ones (scattered row blocks, say) are dropped with the last reference to them ("lost dependencies").
    return persisted(dd.from_delayed(parts, meta=meta, divisions=divisions, verify_meta=False))


def partition_lengths(frame: Any) -> list[int]:
    """The rows of each partition of a dask DataFrame or Series, in order (one pass that counts them)."""
    import dask

    return [int(n) for n in dask.compute(*[dask.delayed(len)(part) for part in frame.to_delayed()])]


def _numbered(frame: Any, offset: int) -> Any:
    frame = frame.reset_index(drop=True)
    frame.index = frame.index + offset
    return frame


def rows(frame: Any) -> int:
    """How many rows a frame or a numbered dask DataFrame holds (from its divisions, without reading)."""
    if not is_partitioned(frame):
        return len(frame)
    if frame.known_divisions:
        return int(frame.divisions[-1]) + 1 if frame.npartitions else 0
    return int(computed(frame.map_partitions(len).sum()))


def cut(lengths: list[int], start: int, stop: int) -> list[tuple[int, int, int]]:
    """Rows start..stop-1 of consecutive parts of `lengths` rows: (part, first row, row past the last) in each part
    that holds some of them."""
    offsets = [0, *itertools.accumulate(lengths)]
    found = [(i, max(start - offsets[i], 0), min(stop - offsets[i], n)) for i, n in enumerate(lengths)]
    return [(i, a, b) for i, a, b in found if a < b]


def starts(frame: Any) -> list[int]:
    """The global row number of each partition's first row (a numbered dask DataFrame)."""
    return [int(d) for d in frame.divisions[:-1]]


def take_rows(frame: Any, positions: np.ndarray) -> Any:
    """The rows at sorted `positions` of a numbered dask DataFrame, numbered 0..len(positions)-1 as
    `frame.take(positions).reset_index(drop=True)` would be; each partition gets only its own positions."""
    import dask
    import dask.dataframe as dd

    bounds = [*starts(frame), rows(frame)]
    cuts = np.searchsorted(positions, bounds)
    parts = [
        dask.delayed(_take)(part, positions[cuts[i] : cuts[i + 1]] - bounds[i], int(cuts[i]))
        for i, part in enumerate(frame.to_delayed())
    ]
    meta = _numbered(frame._meta, 0)
    divisions = (*(int(c) for c in cuts[:-1]), max(int(cuts[-1]) - 1, 0))
    known = len(positions) > 0 and len(set(divisions[:-1])) == len(divisions) - 1
    return dd.from_delayed(parts, meta=meta, divisions=divisions if known else None, verify_meta=False)


def _take(frame: Any, local: np.ndarray, offset: int) -> Any:
    return _numbered(frame.take(local), offset)


def uniform_draw(frame: Any, seed: int) -> Any:
    """A dask Series of floats in [0, 1) on `frame`'s partitions: row i gets default_rng(seed).random(n)[i]. Each
    partition advances its own PCG64 stream to its first row (one double a step), so nothing is drawn twice."""
    import dask
    import dask.dataframe as dd

    draw = dask.delayed(_draw)
    parts = [draw(part, seed, start) for part, start in zip(frame.to_delayed(), starts(frame), strict=False)]

    meta = _draw(frame._meta, seed, 0)
    return dd.from_delayed(parts, meta=meta, divisions=frame.divisions, verify_meta=False)


def _draw(frame: Any, seed: int, start: int) -> Any:
    generator = np.random.Generator(np.random.PCG64(seed).advance(start))
    return module_of(frame).Series(generator.random(len(frame)), index=frame.index, name="__draw__")


def computed(value: Any) -> Any:
    """A lazy dask value (a scalar, a series) computed on the current scheduler; anything else as it is."""
    import dask

    return value.compute() if dask.is_dask_collection(value) else value


def persisted(frame: Any) -> Any:
    """A dask DataFrame computed and held on the workers, so that the passes that follow (a validation, counts,
    a filter) start from it instead of reading and computing everything before it again; a frame as it is.

    It returns once the partitions are there. On Python 3.11, asking a just-persisted collection for its
    partitions while the client still processes the persist can hang for good (functools.cached_property's
    lock; dask/distributed#9101, python/cpython#116969): seen here 2 runs in 3."""
    if not is_partitioned(frame):
        return frame
    frame = frame.persist()
    try:
        from distributed import wait
        from distributed.client import default_client

        default_client()
    except (ImportError, ValueError):  # dask's local scheduler: persist() has computed it already
        return frame
    wait(frame)
    return frame


def gathered(frame: Any) -> Any:
    """A dask DataFrame or Series as one frame (or series) of this process: each partition fetched from its
    worker and concatenated here. (`compute()` concatenates them in one task on one worker first, which then
    holds the whole frame, several times over while it serialises it: 9.5 GiB on one worker of a 10M-row run.)"""
    if not is_partitioned(frame):
        return frame
    import dask

    parts = dask.compute(*frame.to_delayed())
    return module_of(frame._meta).concat(parts) if parts else frame._meta
