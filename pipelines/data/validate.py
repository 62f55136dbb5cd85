"""Validation: schema (names, types), nulls, ranges and duplicates, every failure reported at once.

Works on pandas and cuDF frames alike: it asks only for dtypes and scalar reductions, and a few sample
values for the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.backend import Backend
from pipelines.cluster.frames import Frames
from pipelines.errors import DataError, SchemaError

KINDS = ("numeric", "bool", "datetime", "string")
# The pipeline's own columns (the encoded target, row numbers, folds, group statistics) are named with this prefix:
# an input column so named would be overwritten by them, so it is refused.
RESERVED_PREFIX = "__"


@dataclass(frozen=True)
class Rule:
    """What one column must be: its kind, whether nulls are allowed, and an inclusive range."""

    kind: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None


def column_kind(dtype: Any) -> str:
    """ "numeric" | "bool" | "datetime" | "string" (strings and categoricals) for a pandas or cuDF dtype."""
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if isinstance(dtype, np.dtype) and np.issubdtype(dtype, np.datetime64):
        return "datetime"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, np.dtype) and np.issubdtype(dtype, np.number):
        return "numeric"
    if pd.api.types.is_numeric_dtype(dtype) and not str(dtype).startswith("category"):
        return "numeric"
    return "string"


def validate(
    frame: Any, rules: dict[str, Rule], backend: Backend, unique: list[str] | None = None, name: str = "the input"
) -> None:
    """Raise SchemaError (names/types) or DataError (values) listing every failure found. A dask DataFrame's
    partitions are checked on its workers, each naming its rows (the first failing partition is reported)."""
    if hasattr(frame, "map_partitions"):  # a dask DataFrame (pipelines.cluster.frames.is_partitioned)
        return _validate_partitions(frame, rules, backend, unique, name)
    missing = [c for c in rules if c not in frame.columns]
    problems = [f"column {c!r}: expected it to exist (kind {rules[c].kind}), found no such column" for c in missing]
    for column, rule in rules.items():
        if column in missing:
            continue
        kind = column_kind(frame[column].dtype)
        if kind != rule.kind:
            problems.append(
                f"column {column!r}: expected {rule.kind}, found {frame[column].dtype} "
                f"(e.g. {backend.head_values(frame[column])})"
            )
    if problems:
        raise SchemaError(_message(name, problems, "Fix the columns' names or types in the input."))
    for column, rule in rules.items():
        problems += _value_problems(frame[column], column, rule, backend)
    if unique:
        duplicates = int(frame.duplicated(subset=unique).sum())
        if duplicates:
            problems.append(f"columns {unique}: expected unique rows, found {duplicates} duplicated")
    if problems:
        raise DataError(_message(name, problems, "Clean these values, or drop the columns with --drop."))


def _validate_partitions(frame: Any, rules: dict[str, Rule], backend: Backend, unique: Any, name: str) -> None:
    validate(frame._meta, rules, backend, name=name)  # names and types, before any row is read
    Frames(frame).reduce(_validate_partition, _nothing, rules, backend, unique, name)


def _validate_partition(frame: Any, rules: dict[str, Rule], backend: Backend, unique: Any, name: str) -> None:
    if len(frame):
        name = f"{name} (rows {int(frame.index[0]):,} to {int(frame.index[-1]):,})"
    validate(frame, rules, backend, unique, name)


def _nothing(left: None, right: None) -> None:
    return None


def check_reserved_names(columns: list[str], name: str = "the input") -> None:
    """SchemaError naming every column whose name the pipeline keeps for its own columns."""
    reserved = [str(c) for c in columns if str(c).startswith(RESERVED_PREFIX)]
    if reserved:
        raise SchemaError(
            f"Column(s) {', '.join(repr(c) for c in reserved)} of {name} begin with {RESERVED_PREFIX!r}, which is "
            "reserved for the pipeline's own columns (the encoded target, row numbers, folds): they would be "
            f"overwritten. Rename them without the leading {RESERVED_PREFIX!r}, or drop them from the input."
        )


def _value_problems(series: Any, column: str, rule: Rule, backend: Backend) -> list[str]:
    problems = []
    nulls = int(series.isna().sum())
    if nulls and not rule.nullable:
        problems.append(f"column {column!r}: expected no nulls, found {nulls} of {len(series)}")
    if rule.min is not None or rule.max is not None:
        low = rule.min if rule.min is not None else -np.inf
        high = rule.max if rule.max is not None else np.inf
        bad = series[(series < low) | (series > high)]
        if len(bad):
            problems.append(
                f"column {column!r}: expected values in [{low}, {high}], found {len(bad)} outside, "
                f"e.g. {backend.head_values(bad)}"
            )
    return problems


def _message(name: str, problems: list[str], advice: str) -> str:
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"{len(problems)} problem(s) in {name}:\n{lines}\n{advice}"
