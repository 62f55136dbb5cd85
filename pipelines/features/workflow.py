"""Workflow: a chain of ops fitted on the training split only, applied to any split, saved as JSON + Parquet.

Output: the feature columns only, numeric as float32 and categorical codes as int32, with no nulls.
The training split's own features come from `fit` (or `transform(Part("train", ...))`): ops that learn from
the target give those rows out-of-fold values. An op never overwrites a column the data already has (an input
column named like an op's output is refused, named). State is JSON (op names, parameters, learned statistics) with
tables in Parquet files beside it; never pickle.

The training split may be a dask DataFrame of pandas partitions: each op is then fitted with one tree reduce of
its statistics over the partitions (pipelines.cluster.frames), its transform mapped over them, and the
fitted state is the same as the single frame's (pipelines.features.cluster_fit.fit_features).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.backend import host_copy
from pipelines.cluster.frames import Frames, apply, is_partitioned
from pipelines.data.split import Part
from pipelines.data.target import TARGET
from pipelines.errors import ConfigError, DataError, SchemaError
from pipelines.features import state
from pipelines.features.base import CATEGORICAL, NUMERIC, Op
from pipelines.files import write_text_atomic

INF = float("inf")

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: the same without Parquet tables


class Workflow:
    """Ops applied in order; `fit` fits each on the output of the previous ones."""

    def __init__(self, ops: list[Op]):
        self.ops = list(ops)

    def fit(self, part: Part) -> Workflow:
        self.fit_features(part)
        return self

    def fit_features(self, part: Part) -> Any:
        """Fit on the training split (a frame, or a dask DataFrame) and return its features (out-of-fold where an
        op uses the target): over partitions, a dask DataFrame held on the workers."""
        if not isinstance(part, Part) or part.name != "train":
            found = part.name if isinstance(part, Part) else type(part).__name__
            raise ConfigError(
                f"A workflow is fitted on the training split only; it was given {found!r}. "
                "Pass Part('train', frame) from the split stage."
            )
        frame = part.frame
        for op in self.ops:
            op.fit(frame)
            _check_added(op, frame, "train")
            frame = Frames(apply(op, frame, train=True)).persist()
        kinds: dict[str, str] = {}
        for op in self.ops:
            kinds.update(op.outputs_)
        self._check_no_target(kinds)
        self.numeric_ = [c for c, k in kinds.items() if k == NUMERIC]
        self.categorical_ = [c for c, k in kinds.items() if k == CATEGORICAL]
        self.cardinalities_ = {}
        for op in self.ops:
            self.cardinalities_.update(op.cardinalities)
        frame = frame[self.columns]
        self._check_output(frame, "train")
        return frame

    def _check_no_target(self, kinds: dict[str, str]) -> None:
        targets = {TARGET} | {op.target for op in self.ops if isinstance(getattr(op, "target", None), str)}
        leaked = sorted(targets & set(kinds))
        if leaked:
            raise ConfigError(
                f"The target column(s) {leaked} would be features: take them out of the ops' columns "
                "(TargetEncode and GroupbyAggregate learn from the target without exposing it)."
            )

    def __repr__(self) -> str:
        ops = "".join(f"\n    {op!r}," for op in self.ops)
        fitted = (
            f"  # fitted: {len(self.numeric_)} numeric, {len(self.categorical_)} categorical"
            if hasattr(self, "numeric_")
            else ""
        )
        return f"Workflow([{ops}\n]){fitted}"

    @property
    def columns(self) -> list[str]:
        self._check_fitted()
        return self.numeric_ + self.categorical_

    def transform(self, data: Part | Any) -> Any:
        """Feature frame for a split (or a bare frame of new rows).

        `Part("train", frame)` gives the training split's own features (out-of-fold where an op uses the target,
        as `fit` computed them); any other split or a bare frame uses the statistics learned in `fit`.
        """
        self._check_fitted()
        name, frame = (data.name, data.frame) if isinstance(data, Part) else ("new data", data)
        for op in self.ops:
            _check_added(op, frame, name)
            frame = apply(op, frame, train=name == "train")
        frame = frame[self.columns]
        self._check_output(frame, name)
        return frame

    def _check_output(self, frame: Any, name: str) -> None:
        """DataError for nulls or infinite values left in the features. Nulls are counted, and each numeric column's
        extremes found, in one pass over partitions, without a copy of the features; infinities are counted only
        where an extreme is infinite (the error's message)."""
        numeric = frame[self.numeric_]
        found = [frame[self.columns].isna().sum(), numeric.max(), numeric.min()]
        found = [host_copy(c) for c in _computed(frame, found)]  # one number per column
        nulls = {c: int(n) for c, n in found[0].to_dict().items() if int(n)}
        if nulls:
            raise DataError(
                f"Features for {name} still have nulls in {nulls}: every numeric column needs FillMissing "
                "before the end of the workflow."
            )
        largest, smallest = found[1].to_dict(), found[2].to_dict()
        columns = [c for c in self.numeric_ if abs(float(largest[c])) == INF or abs(float(smallest[c])) == INF]
        if columns:
            (counts,) = _computed(frame, [(frame[columns].astype("float64").abs() == INF).sum()])
            infinite = {c: int(n) for c, n in host_copy(counts).to_dict().items() if int(n)}
            raise DataError(
                f"Features for {name} have infinite values in {infinite}: the input holds values too large for "
                "float32. Clip or drop those columns (--drop)."
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "numeric_"):
            raise ConfigError("The workflow is not fitted: call fit(Part('train', frame)) first.")

    # --- persistence ------------------------------------------------------------------------------
    def to_dict(self, write: Any = None) -> dict[str, Any]:
        """The fitted state; each table in it is passed to `write(name, table)`, which returns a file name."""
        self._check_fitted()
        write = write or _refuse_tables
        ops = [
            {
                "op": type(op).__name__,
                "params": state.dump(op.get_params(), f"{index}.{type(op).__name__}", write),
                "state": state.dump(op.get_state(), str(index), write),
            }
            for index, op in enumerate(self.ops)
        ]
        return {
            "format_version": FORMAT_VERSION,
            "ops": ops,
            "numeric": self.numeric_,
            "categorical": self.categorical_,
            "cardinalities": self.cardinalities_,
        }

    def save(self, path: Path | str) -> Path:
        """Write the state as JSON at `path` and its tables as Parquet beside it (`<stem>.<op>.<key>.parquet`),
        each file atomically. Returns `path`; `Workflow.files(path)` lists every file written."""
        path = Path(path)
        written: list[Path] = []
        try:
            text = json.dumps(self.to_dict(state.table_writer(path, written)), indent=1, default=_json_default)
        except TypeError as exc:
            raise ConfigError(f"The workflow state cannot be saved as JSON: {exc}.") from exc
        return write_text_atomic(path, text)

    @staticmethod
    def files(path: Path | str) -> list[Path]:
        """The JSON file at `path` and the Parquet tables it refers to."""
        path = Path(path)
        names: list[str] = []
        state.restore(json.loads(path.read_text())["ops"], lambda name: names.append(name))
        return [path, *(path.with_name(name) for name in names)]

    @classmethod
    def load(cls, path: Path | str) -> Workflow:
        path = Path(path)
        document = json.loads(path.read_text())
        if document.get("format_version") not in READABLE_VERSIONS:
            raise ConfigError(
                f"{path}: workflow format {document.get('format_version')}, expected one of {READABLE_VERSIONS}."
            )
        read = state.table_reader(path)
        ops = []
        for entry in document["ops"]:
            op_class = Op.registry.get(entry["op"])
            if op_class is None:
                raise ConfigError(f"{path}: unknown op {entry['op']!r}; it was saved by a newer version?")
            params, learned = state.restore(entry["params"], read), state.restore(entry["state"], read)
            ops.append(op_class(**params).set_state(learned))
        workflow = cls(ops)
        workflow.numeric_ = document["numeric"]
        workflow.categorical_ = document["categorical"]
        workflow.cardinalities_ = document["cardinalities"]
        return workflow


def _computed(frame: Any, results: list[Any]) -> list[Any]:
    """`results` (reductions of `frame`), computed together where `frame` is a dask DataFrame."""
    if not is_partitioned(frame):
        return results
    import dask  # only for partitions

    return list(dask.compute(*results))


def _check_added(op: Op, frame: Any, name: str) -> None:
    """SchemaError when `op` would write a column that `frame` already has (overwriting it)."""
    clashes = [c for c in op.added_columns() if c in frame.columns]
    if clashes:
        raise SchemaError(
            f"Column(s) {', '.join(repr(c) for c in clashes)} of the data for {name} already exist under the "
            f"name(s) that {op!r} gives its output, which would overwrite them. Rename those columns in the input, "
            "or leave them out (--drop NAME)."
        )


def _refuse_tables(name: str, table: Any) -> str:
    raise ConfigError(f"The workflow state holds a table ({name}): save it with Workflow.save(path).")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
