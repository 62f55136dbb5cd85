"""The target column: rows without one are dropped and counted; labels become float32 0/1 or values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.backend import Backend
from pipelines.cluster.partitions import computed, is_partitioned, renumber, rows
from pipelines.config import TASKS
from pipelines.data.validate import column_kind
from pipelines.errors import ConfigError, DataError, SchemaError

TARGET = "__target__"


@dataclass
class TargetInfo:
    """What happened to the target: its name, the task, classes, and rows dropped for a missing target."""

    column: str
    task: str
    classes: list[Any] = field(default_factory=list)  # [negative, positive] for classification
    dropped_missing: int = 0


def encode_target(frame: Any, column: str, task: str, backend: Backend) -> tuple[Any, TargetInfo]:
    """Frame with rows lacking `column` dropped and the encoded target in TARGET (float32)."""
    if task not in TASKS:
        raise ConfigError(f"--task must be one of {', '.join(TASKS)}, found {task!r}.")
    if column not in frame.columns:
        raise SchemaError(f"Expected a target column {column!r}, found only {list(frame.columns)[:20]}.")
    present = frame[column].notnull()
    dropped = int(rows(frame) - int(computed(present.sum())))
    if dropped:  # a filter copies every column: only when there is something to drop
        frame = renumber(frame[present]) if is_partitioned(frame) else frame[present]
    if rows(frame) == 0:
        raise DataError(f"Every row lacks the target {column!r}: there is nothing to learn from.")
    info = TargetInfo(column=column, task=task, dropped_missing=dropped)
    series = frame[column]
    frame = frame.copy(deep=False)
    if task == "regression":
        if column_kind(series.dtype) not in ("numeric", "bool"):
            raise SchemaError(
                f"Regression needs a numeric target, but {column!r} is {series.dtype} "
                f"(e.g. {backend.head_values(series)}). Use --task classification for labels."
            )
        infinite = int(computed((series.astype("float64").abs() == float("inf")).sum()))
        if infinite:
            raise DataError(
                f"The target {column!r} has {infinite} infinite value(s) (inf or -inf): a regression target must be "
                "a finite number. Replace or remove those rows."
            )
        frame[TARGET] = series.astype("float32")
        return frame, info
    classes = sorted(backend.to_pandas(computed(series.drop_duplicates())).tolist(), key=_label_order)
    if len(classes) != 2:
        shown = classes[:10]
        raise DataError(
            f"Classification needs exactly 2 classes in {column!r}, found {len(classes)}: {shown}. "
            "Binarise the target first, or use --task regression for a numeric target."
        )
    info.classes = [_plain(c) for c in classes]
    frame[TARGET] = (series == classes[1]).astype("float32")
    return frame, info


def _label_order(value: Any) -> tuple[int, Any]:
    """Numbers before strings, so that 0/1 and False/True put the positive class second."""
    return (0, value) if isinstance(value, (int, float, bool)) or hasattr(value, "dtype") else (1, str(value))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
