"""The op contract: parameters in `__init__`, `fit` returns self, learned state ends in `_`,
`transform` refuses to run unfitted. Ops take and return pandas or cuDF frames alike.

Fitting is statistics per partition, merged, then finished: `partial(frame)` gives one partition's statistics,
`merge(a, b)` those of two partitions together (associative, so a dask tree reduce may pair them in any order),
`ranks(stats)` the exact order statistics `finish` needs (medians, quantiles), and `finish(stats, order)` sets the
fitted state. `fit` runs them over one frame, or over every partition of a dask DataFrame: one code path.

Parameters and state are JSON values, or tables (pandas or cuDF frames) that the workflow saves as Parquet.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pipelines.cluster.frames import Frames, apply, takes_partitions
from pipelines.errors import ConfigError, DataError, SchemaError
from pipelines.features.order import order_statistics

NUMERIC = "numeric"
CATEGORICAL = "categorical"


class NotFittedError(ConfigError):
    """transform was called before fit."""


class Op:
    """Base of every feature op. Subclasses set `outputs_` (column -> NUMERIC | CATEGORICAL) in fit."""

    registry: ClassVar[dict[str, type[Op]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Op.registry[cls.__name__] = cls

    def fit(self, frame: Any) -> Op:
        """Fit on a frame, or on a dask DataFrame's partitions: partial per partition, merged, finished."""
        frames = Frames(frame)
        self.validate(frames.sample)
        stats = frames.reduce(self.partial, self.merge) if type(self).partial is not Op.partial else None
        return self.finish(stats, order_statistics(frames, self.ranks(stats)))

    def validate(self, sample: Any) -> None:
        """Parameter and column checks before any data is read (`sample` may be an empty frame)."""
        self.check_columns(sample, self.columns)

    def partial(self, frame: Any) -> Any:
        """The statistics of one partition (None: the op learns nothing from the data)."""
        return None

    def merge(self, a: Any, b: Any) -> Any:
        """The statistics of two partitions together."""
        return None

    def ranks(self, stats: Any) -> dict[str, tuple[int, list[int]]]:
        """{column: (its non-null values, the 0-based ranks of them sorted that `finish` needs exactly)}."""
        return {}

    def finish(self, stats: Any, order: dict[str, dict[int, float]]) -> Op:
        """Set the fitted state from the merged statistics and the order statistics asked for; return self."""
        raise NotImplementedError

    def transform(self, frame: Any) -> Any:
        raise NotImplementedError

    def fit_transform(self, frame: Any) -> Any:
        """Fit on the training split and return its features, as `transform_train` gives them."""
        return self.fit(frame).transform_train(frame)

    @takes_partitions
    def transform_train(self, frame: Any) -> Any:
        """The training split's own features. The same as `transform`, except for ops whose statistics use
        the target: those give each training row values computed without its own label (out-of-fold)."""
        return apply(self, frame, train=False)

    def added_columns(self) -> list[str]:
        """The columns `transform` adds to the frame; its other outputs rewrite its own input `columns` in place.
        The workflow refuses a frame that already has one of them (it would be overwritten)."""
        inputs = getattr(self, "columns", None)
        return [c for c in self.outputs_ if not isinstance(inputs, list) or c not in inputs]

    @property
    def cardinalities(self) -> dict[str, int]:
        """Codes per categorical output column (embedding sizes); empty for numeric ops."""
        return {}

    # --- shared helpers --------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def get_state(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def set_state(self, state: dict[str, Any]) -> Op:
        for key, value in state.items():
            setattr(self, key, value)
        return self

    def start_transform(self, frame: Any) -> Any:
        """The checks every transform starts with (fitted, `self.columns` present) and a shallow copy to write."""
        self.check_fitted()
        self.check_columns(frame, self.columns)
        return frame.copy(deep=False)

    def check_fitted(self) -> None:
        if not hasattr(self, "outputs_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit on the training split first.")

    def check_columns(self, frame: Any, columns: list[str]) -> None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise SchemaError(
                f"{type(self).__name__} expected column(s) {missing}, found only {list(frame.columns)[:20]}. "
                "The data must have the columns the workflow was fitted on."
            )

    def check_finite(self, frame: Any, columns: list[str]) -> None:
        """DataError naming the columns that hold inf or -inf (with their counts), and what to do about them."""
        self.refuse_infinite(infinite_counts(frame, columns))

    def refuse_infinite(self, infinite: dict[str, int]) -> None:
        """The DataError of `check_finite` for counts of infinite values per column (merged over partitions)."""
        infinite = {column: count for column, count in infinite.items() if count}
        if infinite:
            named = " ".join(f"--drop {c}" for c in infinite)
            raise DataError(
                f"{type(self).__name__}: column(s) hold infinite values (inf or -inf, or numbers beyond float32's "
                f"range of 3.4e38), rows per column: {infinite}. "
                "Features must be finite numbers: replace those values in the input (by a bound, or by an empty "
                f"value, which is filled with the training median), or leave the column(s) out ({named})."
            )

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={_short_repr(v)}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def infinite_counts(frame: Any, columns: list[str]) -> dict[str, int]:
    """Rows holding inf or -inf per float column (0 for the others)."""
    counts = {}
    for column in columns:
        series = frame[column]
        is_float = pd.api.types.is_float_dtype(series.dtype)
        counts[column] = int((series.abs() == np.inf).sum()) if is_float else 0
    return counts


def add_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {key: a[key] + b[key] for key in a}


def is_table(value: Any) -> bool:
    """A pandas or cuDF DataFrame (a lookup table, fitted statistics), saved as Parquet by the workflow."""
    return hasattr(value, "columns") and hasattr(value, "to_parquet")


def _short_repr(value: Any) -> str:
    if is_table(value):
        return f"<table {len(value)} rows x {list(value.columns)}>"
    return repr(value)
