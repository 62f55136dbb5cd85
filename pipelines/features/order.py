"""Exact order statistics over partitions: the k-th smallest non-null value of a column, found without sorting
or gathering the column. Each value maps to an order-preserving 64-bit key; each round counts, per partition,
the keys that fall in 65,536 equal ranges of the window that holds a wanted rank, the counts are added, and the
window narrows to the one range that holds it. A window with few values left (a column of at most GATHER values
from the start) is gathered whole, sorted and read off.
Exact whatever the partitioning (counts add up exactly), in a few passes over the data; pandas (NumPy) and,
through the backend's array helpers, cuDF (CuPy: unverified). One frame is read once instead: NumPy's `partition`
puts the wanted ranks of a pandas column in place (the same values, in a fifth of the time), and a cuDF column is
sorted on its device, from which only the wanted values are copied (8 bytes each, not the column).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.backend import column_values, module_of, to_host

BINS = 1 << 16  # ranges per window and round
GATHER = 1 << 18  # a window with at most this many values is gathered (2 MiB of keys)
SIGN = np.uint64(1 << 63)
TOP = (1 << 64) - 1


def order_statistics(frames: Any, wanted: dict[str, tuple[int, list[int]]]) -> dict[str, dict[int, float]]:
    """{column: {rank: value}}: the values at the 0-based ranks of each column's sorted non-null values, `wanted`
    giving per column the number of its non-null values and the ranks."""
    if not frames.partitioned:  # one frame: selected where it lives, only the wanted values leave it
        select = _selected if module_of(frames.frame) is pd else _sorted_on_device
        return {column: select(frames.frame[column], ranks) for column, (_, ranks) in wanted.items()}
    found: dict[str, dict[int, float]] = {column: {} for column in wanted}
    # A window: (column, lowest key, highest key, values below it, values in it) -> ranks inside it.
    windows = {(column, 0, TOP, 0, size): sorted(set(ranks)) for column, (size, ranks) in wanted.items() if ranks}
    while windows:
        requests = [(c, lo, hi, 0 if size <= GATHER else BINS) for c, lo, hi, _, size in windows]
        results = frames.reduce(_count_or_gather, _merge, requests)
        narrowed = {}
        for (window, ranks), (_, _, _, bins), result in zip(windows.items(), requests, results, strict=True):
            column, below = window[0], window[3]
            if bins == 0:
                for rank in ranks:
                    found[column][rank] = _value(int(np.sort(result)[rank - below]))
                continue
            narrowed.update(_narrow(window, ranks, result, found[column]))
        windows = narrowed
    return found


def _selected(series: Any, ranks: list[int]) -> dict[int, float]:
    """The values at `ranks` of one column's sorted non-null values: NumPy's introselect, in a few passes."""
    if not ranks:
        return {}
    wanted = sorted(set(ranks))
    ordered = np.partition(series.astype("float64").dropna().to_numpy(), wanted)
    return {rank: float(ordered[rank]) + 0.0 for rank in wanted}  # + 0.0: -0.0 as 0.0, as the keys read it


def _sorted_on_device(series: Any, ranks: list[int]) -> dict[int, float]:
    """The same for a cuDF column: sorted on the device, and only the values at `ranks` (8 bytes each) copied to
    the host (unverified on a GPU)."""
    if not ranks:
        return {}
    wanted = sorted(set(ranks))
    ordered = series.astype("float64").dropna().sort_values(ignore_index=True)
    picked = to_host(column_values(ordered.iloc[wanted]))
    return {rank: float(value) + 0.0 for rank, value in zip(wanted, picked, strict=True)}


def _narrow(window: tuple, ranks: list[int], counts: np.ndarray, found: dict[int, float]) -> dict[tuple, list[int]]:
    """The windows (one range each) that hold `ranks`; a range of one key gives its value directly."""
    column, lo, hi, below, _ = window
    width = _width(lo, hi)
    ends = below + np.cumsum(counts)
    narrowed: dict[tuple, list[int]] = {}
    for rank in ranks:
        b = int(np.searchsorted(ends, rank, side="right"))
        start, stop = lo + b * width, min(lo + (b + 1) * width - 1, hi)
        if start == stop:
            found[rank] = _value(start)
            continue
        inner = (column, start, stop, int(ends[b] - counts[b]), int(counts[b]))
        narrowed.setdefault(inner, []).append(rank)
    return narrowed


def _count_or_gather(frame: Any, requests: list[tuple[str, int, int, int]]) -> list[np.ndarray]:
    """Per request, the keys of the partition within [lo, hi]: counted in `bins` ranges, or all of them (bins 0)."""
    keys_of: dict[str, Any] = {}
    out = []
    for column, lo, hi, bins in requests:
        if column not in keys_of:
            keys_of[column] = _keys(column_values(frame[column].astype("float64").dropna()))
        keys = keys_of[column]
        inside = keys[(keys >= np.uint64(lo)) & (keys <= np.uint64(hi))]
        if bins == 0:
            out.append(to_host(inside))
            continue
        positions = ((inside - np.uint64(lo)) // np.uint64(_width(lo, hi))).astype("int64")
        out.append(to_host(np.bincount(positions, minlength=bins)).astype("int64"))
    return out


def _merge(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    """Counts added; gathered keys (uint64) put together."""
    return [np.concatenate([x, y]) if x.dtype == np.uint64 else x + y for x, y in zip(a, b, strict=True)]


def _width(lo: int, hi: int) -> int:
    return -(-(hi - lo + 1) // BINS)


def _keys(values: Any) -> Any:
    """Order-preserving uint64 keys of float64 values (-0.0 and 0.0 alike): the sign bit flipped for positive
    values, every bit for negative ones."""
    bits = (values + 0.0).view("uint64")
    return np.where(bits >= SIGN, ~bits, bits | SIGN)


def _value(key: int) -> float:
    bits = np.uint64(key) & ~SIGN if key >= (1 << 63) else ~np.uint64(key)
    return float(np.array([bits], dtype="uint64").view("float64")[0])
