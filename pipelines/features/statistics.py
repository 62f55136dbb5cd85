"""Fitted statistics that merge: computed per partition, merged pairwise in any order (a Dask tree reduce), then
finished into an op's state. pandas and cuDF frames alike (reductions, groupby().agg, concat).

- moments: (count, mean, M2) of a column, merged with Chan et al.'s pairwise formula in float64;
- group tables: per key combination, count, sum, mean, M2, min, max (Chan again, vectorised);
- value counts: counts per distinct value, added before anything is ranked or numbered;
- quantiles from exact order statistics (pipelines.features.order), interpolated as NumPy's `quantile`
  ("linear") and `median` do, so that a fitted quantile is the one pandas gives on the whole column.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pipelines.backend import module_of
from pipelines.features.tables import lookup

Moments = tuple[int, float, float]  # count, mean, sum of squared deviations from the mean (M2)
EMPTY: Moments = (0, 0.0, 0.0)
GROUP_COLUMNS = ("__n__", "__sum__", "__mean__", "__m2__", "__min__", "__max__")


def moments(series: Any) -> Moments:
    """Count, mean and M2 of the non-null values of a float64 column."""
    values = series.dropna()
    count = len(values)
    if count == 0:
        return EMPTY
    mean = float(values.mean())
    return count, mean, float(((values - mean) ** 2).sum())


def merge_moments(a: Moments, b: Moments) -> Moments:
    """Chan et al.: the moments of the union of two disjoint samples, stable whatever their sizes."""
    (na, ma, m2a), (nb, mb, m2b) = a, b
    if na == 0 or nb == 0:
        return b if na == 0 else a
    count = na + nb
    delta = mb - ma
    return count, ma + delta * nb / count, m2a + m2b + delta * delta * na * nb / count


def std(m: Moments) -> float:
    """The sample standard deviation (ddof 1), NaN under two values, as pandas gives it."""
    count, _, m2 = m
    return math.sqrt(m2 / (count - 1)) if count > 1 else float("nan")


def value_counts(series: Any) -> Any:
    """Rows per distinct non-null value, indexed by value."""
    return series.value_counts(dropna=True, sort=False)


def merge_counts(a: Any, b: Any) -> Any:
    """Counts per value of both samples, indexed by value in sorted order (the same whatever the partitioning)."""
    return module_of(a).concat([a, b]).groupby(level=0, sort=True).sum()


def group_table(frame: Any, keys: list[str], column: str) -> Any:
    """GROUP_COLUMNS of `column` per key combination seen (null keys left out; a group of null values kept)."""
    n, total, mean, m2, low, high = GROUP_COLUMNS
    groups = frame.groupby(keys, sort=True)[column]
    table = groups.agg(["count", "sum", "mean", "min", "max"])
    table.columns = [n, total, mean, low, high]
    table = table.reset_index()
    # M2 in two passes (squared deviations from the group's own mean, summed): as exact as the mean itself,
    # where a variance times the count loses digits on columns whose spread is small beside their magnitude.
    means = lookup(frame, keys, table[[*keys, mean]])[mean]
    squares = frame[keys].assign(**{m2: (frame[column] - means) ** 2})
    table[m2] = squares.groupby(keys, sort=True)[m2].sum().reset_index(drop=True).fillna(0.0)
    return table[[*keys, *GROUP_COLUMNS]]


def merge_group_tables(a: Any, b: Any, keys: list[str]) -> Any:
    """Two group tables as one: counts and sums added, means and M2 by Chan's formula, min and max kept."""
    n, total, mean, m2, low, high = GROUP_COLUMNS
    both = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), sort=True)
    na, nb = both[f"{n}_a"].fillna(0).astype("float64"), both[f"{n}_b"].fillna(0).astype("float64")
    ma, mb = both[f"{mean}_a"].fillna(0.0), both[f"{mean}_b"].fillna(0.0)
    count = na + nb
    delta = mb - ma
    share = (nb / count).where(count > 0, 0.0)
    merged = both[keys].copy()
    merged[n] = count.astype("int64")
    merged[total] = both[f"{total}_a"].fillna(0.0) + both[f"{total}_b"].fillna(0.0)
    merged[mean] = (ma + delta * share).where(count > 0, float("nan"))
    cross = (delta * delta * na * share).where(count > 0, 0.0)
    merged[m2] = both[f"{m2}_a"].fillna(0.0) + both[f"{m2}_b"].fillna(0.0) + cross
    merged[low] = both[[f"{low}_a", f"{low}_b"]].min(axis=1)
    merged[high] = both[[f"{high}_a", f"{high}_b"]].max(axis=1)
    return merged.reset_index(drop=True)


def quantile_ranks(count: int, q: float) -> list[int]:
    """The 0-based ranks of the sorted values that the `q` quantile of `count` values interpolates between."""
    if count == 0:
        return []
    virtual = (count - 1) * q
    below = min(math.floor(virtual), count - 1)
    return sorted({below, min(below + 1, count - 1)})


def quantile(count: int, q: float, order: dict[int, float]) -> float | None:
    """NumPy's "linear" quantile of `count` values from their order statistics `order` (rank -> value)."""
    if count == 0:
        return None
    virtual = np.float64(count - 1) * np.float64(q)
    below = math.floor(virtual)
    if virtual >= count - 1:
        return float(order[count - 1])
    a, b, t = np.float64(order[below]), np.float64(order[below + 1]), virtual - np.float64(below)
    difference = b - a
    return float(b - difference * (1 - t) if t >= 0.5 else a + difference * t)


def median_ranks(count: int) -> list[int]:
    if count == 0:
        return []
    return sorted({(count - 1) // 2, count // 2})


def median(count: int, order: dict[int, float]) -> float | None:
    """NumPy's median: the middle value, or the mean of the two middle ones."""
    if count == 0:
        return None
    a, b = np.float64(order[(count - 1) // 2]), np.float64(order[count // 2])
    return float(a) if count % 2 else float((a + b) / np.float64(2))


def merge_sums(a: Any, b: Any, keys: list[str]) -> Any:
    """Two tables of additive statistics per key combination (counts, sums) as one, sorted by the keys."""
    return module_of(a).concat([a, b]).groupby(keys, sort=True).sum().reset_index()


def group_value_counts(frame: Any, keys: list[str], column: str) -> Any:
    """Rows per key combination and non-null value of `column`: the keys, `column`, then GROUP_COLUMNS[0]."""
    return (
        frame.dropna(subset=[column]).groupby([*keys, column], sort=True).size().rename(GROUP_COLUMNS[0]).reset_index()
    )


def group_medians(counts: Any, keys: list[str], column: str) -> Any:
    """The median of `column` per key combination from `group_value_counts` tables (merged): the keys and
    "median", the middle value or the mean of the two middle ones, as pandas' groupby median gives it."""
    n = GROUP_COLUMNS[0]
    counts = counts.sort_values([*keys, column]).reset_index(drop=True)
    groups = counts.groupby(keys, sort=True)[n]
    total, end = groups.transform("sum"), groups.cumsum()
    start = end - counts[n]
    middle = []
    for rank in ((total - 1) // 2, total // 2):
        holds = (start <= rank) & (rank < end)
        middle.append(counts[holds][[*keys, column]].reset_index(drop=True))
    medians = middle[0][keys].copy()
    medians["median"] = (middle[0][column].astype("float64") + middle[1][column].astype("float64")) / 2
    return medians
