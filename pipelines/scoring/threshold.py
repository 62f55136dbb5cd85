"""Where a classifier's probability becomes its class (`predict --threshold`): 0.5 unless told, a probability of
the user's, or `chosen`, the cut the run chose for the model on its validation split (metrics.json `thresholds`,
written by pipelines.report.decision: the cut with the best F1)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pipelines.errors import ConfigError

CHOSEN = "chosen"
DEFAULT = 0.5


@dataclass(frozen=True)
class Cut:
    """The probability from which a row is the positive class, and where it came from."""

    value: float
    source: str  # "default", "given" or "chosen"


def resolve(given: str | float | None, metrics: dict[str, Any], model: str) -> Cut | None:
    """The cut for `model`'s probabilities: None for a regression run, which has no classes to cut into. Exit 2 for
    a threshold that is not a probability strictly between 0 and 1 or `chosen`, a threshold for a regression run,
    and `chosen` where the run recorded none for the model (a run made before thresholds were chosen)."""
    if metrics["task"] != "classification":
        if given is not None:
            raise ConfigError(
                f"--threshold {given}: this run is a regression, whose predictions are values, not classes. Leave "
                "out --threshold."
            )
        return None
    if given is None:
        return Cut(DEFAULT, "default")
    if str(given).strip().lower() == CHOSEN:
        return _chosen(metrics, model)
    try:
        value = float(given)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 < value < 1.0:  # NaN fails too
        raise ConfigError(
            f"--threshold expects a probability between 0 and 1 (exclusive), or '{CHOSEN}' for the cut the run "
            f"chose on its validation split; found {given!r}. For example --threshold 0.3 or --threshold {CHOSEN}."
        )
    return Cut(value, "given")


def _chosen(metrics: dict[str, Any], model: str) -> Cut:
    if model not in metrics["models"]:
        raise ConfigError(f"Model {model!r} is not in the run: it has {', '.join(metrics['models'])}.")
    recorded = metrics.get("thresholds", {}).get(model)
    if recorded is None:
        raise ConfigError(
            f"--threshold {CHOSEN}: the run records no chosen threshold for {model} in its metrics.json (runs made "
            "before thresholds were chosen have none). Give --threshold as a probability (0.5 is the default), or "
            "train the run again."
        )
    return Cut(float(recorded["value"]), "chosen")


def at(cut: Cut | None) -> float:
    """The probability to cut at: a regression run's (None) is never used."""
    return DEFAULT if cut is None else cut.value


def said(cut: Cut | None, metrics: dict[str, Any], model: str, classes: list[Any]) -> list[str]:
    """The lines the command prints (none for a regression run): the class the cut gives and where the cut came
    from; where another cut than the run's chosen one is used, that one and how to use it."""
    if cut is None:
        return []
    source = {"default": "the default", "given": "--threshold", "chosen": f"chosen for {model} on validation"}
    lines = [f"prediction: {classes[1]} where probability >= {cut.value:.4g} ({source[cut.source]})"]
    recorded = metrics.get("thresholds", {}).get(model)
    if cut.source != "chosen" and recorded is not None:
        lines.append(
            f"note: the run chose {float(recorded['value']):.4g} for {model} on validation (best F1); "
            f"--threshold {CHOSEN} uses it"
        )
    return lines
