"""What every model family gives (fit, predict, save, load), and fitting one with its scores.

A family is one small class per file (pipelines/models/*.py) registered in pipelines.models.FAMILIES. Its
`stage` says which pipeline stage fits it: "baselines" (estimators that read the feature frame) or "train"
(networks that read the handoff's device tensors). Predictions are tensors on the backend's device.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from pipelines import evaluate
from pipelines.backend import Backend
from pipelines.data.placement import IN_PROCESS, Placement
from pipelines.data.target import TASKS
from pipelines.errors import ConfigError
from pipelines.features.workflow import Workflow
from pipelines.training.types import DeviceData

SCORED = ("valid", "test")


@dataclass
class Split:
    """One split as the families read it: the feature frame, its encoded target (None for new rows to score),
    and the handoff's device tensors (None until the handoff stage made them; networks then make their own). With
    --cluster, `on_workers` holds the same rows on the cluster's workers (pipelines.features.feature_set.OnWorkers), for
    the families that fit there."""

    frame: Any
    target: Any = None
    tensors: DeviceData | None = None
    on_workers: Any = None


@dataclass(kw_only=True, frozen=True)
class FitOptions:
    """Settings a family may use while fitting."""

    seed: int = 0
    epochs: int = 3
    progress: bool = False
    checkpoint: Path | None = None  # where a family that checkpoints writes (and resumes from)
    # Where the run's rows live (pipelines.data.placement): on a Dask cluster, a family with a Dask interface fits
    # on its workers, reading the splits they hold (Split.on_workers) and sending the others in row blocks.
    placement: Placement = IN_PROCESS
    gpus: int = 1  # processes a network trains across: one per CUDA device, or that many gloo processes on CPU
    # This family's settings over its defaults (a tuning trial's, or `devicepipe run --params`): keys of `defaults`.
    settings: dict[str, Any] = field(default_factory=dict)
    # Called with (step, the primary validation metric: pipelines.evaluate.PRIMARY) after each boosting round or
    # epoch, in this process; it may raise to stop the fit (a pruned tuning trial).
    on_step: Callable[[int, float], None] | None = None


class ModelAdapter:
    """One model family. `__init__` stores; `fit` learns; `predict` gives the positive-class probability
    (classification) or the prediction (regression) per row, as a tensor on the backend's device."""

    name: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]] = TASKS
    stage: ClassVar[str] = "baselines"
    # The backends ("cpu", "gpu") on which the family is fitted without being asked for (--model NAME).
    default_on: ClassVar[tuple[str, ...]] = ("cpu", "gpu")
    # Files `save` writes in the bundle's model/ folder ({name} is replaced by the family's name).
    files: ClassVar[tuple[str, ...]] = ()

    def __init__(self, task: str, backend: Backend, workflow: Workflow):
        self.task, self.backend, self.workflow = task, backend, workflow

    def fit(self, train: Split, valid: Split, options: FitOptions) -> None:
        raise NotImplementedError

    def predict(self, split: Split) -> torch.Tensor:
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, folder: Path, task: str, backend: Backend, workflow: Workflow) -> ModelAdapter:
        raise NotImplementedError

    # How `importance` ranks the features ("TreeSHAP", "permutation"), or None for a family that gives none.
    importance_method: ClassVar[str | None] = None

    def importance(self, split: Split, rows: int, seed: int) -> dict[str, float]:
        """Importance per feature column on a seeded sample of at most `rows` rows of `split` (a family with an
        `importance_method` implements it); host floats, as the report draws them after training."""
        raise NotImplementedError

    def details(self) -> dict[str, Any]:
        """What the manifest records about the fit beyond its scores (a learning curve, the best epoch)."""
        return {}

    @classmethod
    def defaults(cls, task: str) -> dict[str, Any]:
        """The settings a tuning trial or `--params` may change, with their values when nothing does (empty: a
        family with nothing to tune)."""
        return {}

    @classmethod
    def search_space(cls, trial: Any, task: str) -> dict[str, Any]:
        """Settings drawn for one tuning trial through Optuna's `trial.suggest_*`: keys of `defaults`."""
        raise NotImplementedError

    @classmethod
    def default_draw(cls, task: str) -> dict[str, Any]:
        """The draw of `search_space` that gives `defaults` (a study's first trial: the search starts from them)."""
        return cls.defaults(task)

    # Steps (boosting rounds, epochs) before a trial may be pruned: the early steps of a fit do not rank settings.
    pruning_warmup: ClassVar[int] = 1

    @classmethod
    def check_settings(cls, task: str, settings: dict[str, Any]) -> dict[str, Any]:
        """`settings`, or a ConfigError naming the keys this family does not take."""
        unknown = sorted(set(settings) - set(cls.defaults(task)))
        if unknown:
            raise ConfigError(
                f"{cls.name} has no setting {', '.join(map(repr, unknown))}; it takes {sorted(cls.defaults(task))}. "
                "Use the settings a devicepipe tune folder wrote (best_params.json), or remove those keys."
            )
        return settings

    @classmethod
    def warm_up(cls, task: str, backend: Backend) -> None:
        """Import what `fit` and `save` will need, ahead of the stage (`pipelines.models.warm_up`: in a thread of
        its own while the flow starts and the feature stages run). Nothing else; the stage still does all the work."""

    @property
    def history(self) -> list[dict[str, Any]]:
        """One row per epoch for families that learn in epochs (the report draws it); empty otherwise."""
        return []


@dataclass(kw_only=True)
class FittedModel:
    """A fitted family with its scores on the valid and test splits, fit time, the warnings it raised, and the
    predictions the scores were computed from (device tensors, per split: the report draws them)."""

    model: ModelAdapter
    scores: dict[str, dict[str, float]]
    fit_seconds: float
    warnings: list[str] = field(default_factory=list)
    predictions: dict[str, torch.Tensor] = field(default_factory=dict)
    settings_note: str | None = None  # where its settings came from, when a tune's (`devicepipe run --params`)

    def metrics(self) -> dict[str, Any]:
        """This model's entry in metrics.json."""
        return {**self.scores, "fit_seconds": round(self.fit_seconds, 3)}


def fit_and_score(
    model: ModelAdapter, splits: dict[str, Split], options: FitOptions, scored: tuple[str, ...] = SCORED
) -> FittedModel:
    """Fit on train (the family may watch valid), then score on `scored` (valid and test; a tuning trial: valid
    only); warnings kept for the notes."""
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(splits["train"], splits["valid"], options)
        model.backend.synchronize()
    seconds = time.perf_counter() - started
    # Kept for the run's notes (e.g. a solver that did not converge) instead of scrolling past.
    messages = sorted({f"{model.name}: {w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught})
    predictions = {name: model.predict(splits[name]) for name in scored}
    scores = {name: evaluate.score(model.task, splits[name].tensors.y, predictions[name]) for name in scored}
    return FittedModel(model=model, scores=scores, fit_seconds=seconds, warnings=messages, predictions=predictions)


def labels(split: Split | Any, task: str) -> Any:
    """The target of `split` (a Split, or the rows kept on the cluster's workers:
    pipelines.features.feature_set.OnWorkers) as estimators take it: integer class labels (cuML's classifiers require
    them)."""
    return split.target.astype("int32") if task == "classification" else split.target
