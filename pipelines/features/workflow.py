"""Workflow: a chain of ops fitted on the training split only, applied to any split, saved as JSON.

Output: the feature columns only, numeric as float32 and categorical codes as int32, with no nulls.
State is JSON (op names, parameters, learned statistics); never pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.atomic import write_text_atomic
from pipelines.errors import ConfigError, DataError
from pipelines.features.base import CATEGORICAL, NUMERIC, Op

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Part:
    """One split of the data, named, so a workflow can refuse to be fitted on anything but "train"."""

    name: str
    frame: Any

    def __len__(self) -> int:
        return len(self.frame)


class Workflow:
    """Ops applied in order; `fit` fits each on the output of the previous ones."""

    def __init__(self, ops: list[Op]):
        self.ops = list(ops)

    def fit(self, part: Part) -> Workflow:
        if not isinstance(part, Part) or part.name != "train":
            found = part.name if isinstance(part, Part) else type(part).__name__
            raise ConfigError(
                f"A workflow is fitted on the training split only; it was given {found!r}. "
                "Pass Part('train', frame) from the split stage."
            )
        frame = part.frame
        for op in self.ops:
            frame = op.fit(frame).transform(frame)
        kinds: dict[str, str] = {}
        for op in self.ops:
            kinds.update(op.outputs_)
        self.numeric_ = [c for c, k in kinds.items() if k == NUMERIC]
        self.categorical_ = [c for c, k in kinds.items() if k == CATEGORICAL]
        self.cardinalities_ = {}
        for op in self.ops:
            self.cardinalities_.update(op.cardinalities)
        self._check_output(frame, "train")
        return self

    @property
    def columns(self) -> list[str]:
        self._check_fitted()
        return self.numeric_ + self.categorical_

    def transform(self, data: Part | Any) -> Any:
        """Feature frame for a split (or a bare frame of new rows)."""
        self._check_fitted()
        name, frame = (data.name, data.frame) if isinstance(data, Part) else ("new data", data)
        for op in self.ops:
            frame = op.transform(frame)
        frame = frame[self.columns]
        self._check_output(frame, name)
        return frame

    def _check_output(self, frame: Any, name: str) -> None:
        nulls = {c: n for c in self.columns if (n := int(frame[c].isna().sum()))}
        if nulls:
            raise DataError(
                f"Features for {name} still have nulls in {nulls}: every numeric column needs FillMissing "
                "before the end of the workflow."
            )
        infinite = {c: n for c in self.numeric_ if (n := int((frame[c].abs() == float("inf")).sum()))}
        if infinite:
            raise DataError(
                f"Features for {name} have infinite values in {infinite}: the input holds values too large for "
                "float32. Clip or drop those columns (--drop)."
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "numeric_"):
            raise ConfigError("The workflow is not fitted: call fit(Part('train', frame)) first.")

    # --- persistence ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "format_version": FORMAT_VERSION,
            "ops": [{"op": type(op).__name__, "params": op.get_params(), "state": op.get_state()} for op in self.ops],
            "numeric": self.numeric_,
            "categorical": self.categorical_,
            "cardinalities": self.cardinalities_,
        }

    def save(self, path: Path) -> Path:
        """Write the fitted state as JSON, atomically."""
        try:
            text = json.dumps(self.to_dict(), indent=1, default=_json_default)
        except TypeError as exc:
            raise ConfigError(f"The workflow state cannot be saved as JSON: {exc}.") from exc
        return write_text_atomic(path, text)

    @classmethod
    def load(cls, path: Path) -> Workflow:
        state = json.loads(Path(path).read_text())
        if state.get("format_version") != FORMAT_VERSION:
            raise ConfigError(f"{path}: workflow format {state.get('format_version')}, expected {FORMAT_VERSION}.")
        ops = []
        for entry in state["ops"]:
            op_class = Op.registry.get(entry["op"])
            if op_class is None:
                raise ConfigError(f"{path}: unknown op {entry['op']!r}; it was saved by a newer version?")
            ops.append(op_class(**entry["params"]).set_state(entry["state"]))
        workflow = cls(ops)
        workflow.numeric_ = state["numeric"]
        workflow.categorical_ = state["categorical"]
        workflow.cardinalities_ = state["cardinalities"]
        return workflow


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
