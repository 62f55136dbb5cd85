"""The profile of a table's columns that drift is measured against (pipelines.scoring.drift): for a number or a time,
the bin shares between its deciles; for anything else, the shares of its TOP most frequent values and of all the
others; for every column, the share of nulls (its own bin). Taken from at most PROFILE_ROWS training rows as the
recipe prepared them, kept in the bundle. Computed with the frame API that pandas and cuDF share: only the small
tables of shares leave the device.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipelines.backend import host_copy
from pipelines.data.validate import column_kind

BINS = 10
TOP = 20
PROFILE_ROWS = 1_000_000


def profile_frame(frame: Any, columns: list[str]) -> dict[str, dict[str, Any]]:
    """column -> its bins (`edges` for numbers and times, `values` for the rest) and training shares."""
    return {column: profile_series(frame[column]) for column in columns}


def profile_series(series: Any) -> dict[str, Any]:
    kind = column_kind(series.dtype)
    if kind in ("numeric", "datetime"):
        present = series.dropna()
        levels = [k / BINS for k in range(1, BINS)]
        quantiles = present.quantile(levels).to_dict().values() if len(present) else []
        edges = sorted({edge(value, kind) for value in quantiles if not pd.isna(value)})
        spec = {"kind": kind, "edges": edges}
    else:
        counts = series.value_counts().head(TOP).to_dict()
        spec = {"kind": "category", "values": [str(value) for value in counts]}
    return {**spec, "shares": shares(series, spec)}


def edge(value: Any, kind: str) -> float | str:
    return pd.Timestamp(value).isoformat() if kind == "datetime" else float(value)


def shares(series: Any, spec: dict[str, Any]) -> list[float]:
    """`series`'s shares in the bins of `spec`, the null bin last."""
    rows = len(series)
    if rows == 0:
        return [0.0] * (len(spec.get("edges", spec.get("values", []))) + 2)
    nulls = int(series.isna().sum())
    if spec["kind"] == "category":
        text = series.astype("str")
        # Counted where the rows are; only the profile's values (at most TOP) come back to the host.
        counts = host_copy(text[text.isin(spec["values"])].value_counts()) if nulls < rows else {}
        counts = {str(k): int(v) for k, v in counts.items()}
        known = [counts.get(value, 0) for value in spec["values"]]
        other = rows - nulls - sum(known)
        return [c / rows for c in [*known, other, nulls]]
    edges = [pd.Timestamp(e) for e in spec["edges"]] if spec["kind"] == "datetime" else spec["edges"]
    at_most = [int((series <= edge).sum()) for edge in edges]
    cumulative = [0, *at_most, rows - nulls]
    return [(cumulative[i + 1] - cumulative[i]) / rows for i in range(len(cumulative) - 1)] + [nulls / rows]
