"""What the table-backed ops share: a left lookup that keeps row order, and group statistics (out-of-fold
transforms: pipelines.features.folds). pandas and cuDF alike (merge, groupby().agg, sort_values, concat); cuDF's
merge does not keep the left order, so every lookup carries a row number and sorts on it.
"""

from __future__ import annotations

from typing import Any

from pipelines.backend import like
from pipelines.data.validate import column_kind
from pipelines.errors import SchemaError

ROW = "__row__"


def lookup(frame: Any, on: list[str], table: Any) -> Any:
    """`table`'s non-key columns for each row of `frame` (null where its keys have no match), on `frame`'s index."""
    table = like(table, frame)
    keys = frame[on].reset_index(drop=True)
    keys[ROW] = keys.index
    keys, table = _aligned_keys(keys, table, on)
    merged = keys.merge(table, on=on, how="left").sort_values(ROW)
    values = merged.drop(columns=[*on, ROW])
    values.index = frame.index
    return values


def _aligned_keys(keys: Any, table: Any, on: list[str]) -> tuple[Any, Any]:
    """Key columns of one kind but different dtypes made to match: integers with floats (an integer column that
    gained nulls) as float64, object strings with pandas' str (a table read back from Parquet) as str."""
    for key in on:
        left, right = keys[key].dtype, table[key].dtype
        if left == right:
            continue
        kinds = {column_kind(left), column_kind(right)}
        if kinds == {"numeric"}:
            keys[key], table = keys[key].astype("float64"), table.assign(**{key: table[key].astype("float64")})
        elif kinds == {"string"}:
            keys[key], table = keys[key].astype("str"), table.assign(**{key: table[key].astype("str")})
        elif len(kinds) == 1 or len(table) == 0:  # datetimes of another unit; or nothing to match
            table = table.assign(**{key: table[key].astype(left)})
        else:
            raise SchemaError(
                f"Key column {key!r} is {left} in the data but was {right} when the workflow was fitted. "
                "Give the column the type it had in training."
            )
    return keys, table


def group_stats(frame: Any, keys: list[str], column: str, names: dict[str, str]) -> Any:
    """One row per key combination seen (null keys left out): the keys, then `column`'s aggregations (the keys
    of `names`) in columns named by its values."""
    stats = frame.groupby(keys)[column].agg(list(names))
    stats.columns = [names[aggregation] for aggregation in names]
    return stats.reset_index()


def filled(series: Any, value: float) -> Any:
    """`series` with nulls and NaN replaced by `value` (cuDF keeps NaN apart from null; pandas does not)."""
    series = series.fillna(value)
    return series.where(series == series, value)
