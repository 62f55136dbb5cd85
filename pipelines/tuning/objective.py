"""One tuning trial: a family fitted with the settings the trial draws, scored on the validation split only.

A trial never sees the test split: it is given the train and validation splits alone (`trial_splits`). Its fit
reports the validation metric after each boosting round or epoch (`FitOptions.on_step`), and Optuna's pruner may
end it there.
"""

from __future__ import annotations

from typing import Any

import optuna

from pipelines.config import RunConfig
from pipelines.evaluate import PRIMARY
from pipelines.features.feature_set import FeatureSet
from pipelines.models import FitOptions, Split, fit_and_score
from pipelines.models.base import ModelAdapter
from pipelines.training.handoff import Handoff

TRIAL_SPLITS = ("train", "valid")


def trial_splits(features: FeatureSet, handoff: Handoff, names: tuple[str, ...] = TRIAL_SPLITS) -> dict[str, Split]:
    """The splits a trial reads: train and valid, never test (`names`: others, for the best settings' last fit)."""
    return {name: Split(features.frames[name], features.targets[name], handoff.data[name]) for name in names}


def make_objective(
    family: type[ModelAdapter], splits: dict[str, Split], workflow: Any, config: RunConfig, backend: Any
) -> Any:
    """The function Optuna calls per trial: the family's validation metric with the drawn settings (`workflow`: the
    features' fitted workflow, FeatureSet.workflow)."""
    metric = PRIMARY[config.task]

    def run(trial: optuna.Trial) -> float:
        settings = family.search_space(trial, config.task)
        trial.set_user_attr("settings", settings)
        options = FitOptions(seed=config.seed, epochs=config.epochs, settings=settings, on_step=_pruning(trial))
        fitted = None
        try:
            fitted = fit_and_score(family(config.task, backend, workflow), splits, options, scored=("valid",))
            trial.set_user_attr("fit_seconds", round(fitted.fit_seconds, 3))
            return fitted.scores["valid"][metric]
        finally:
            fitted = None  # the model and its predictions let go before the next trial, pruned or not
            backend.release_device_memory()

    return run


def _pruning(trial: optuna.Trial) -> Any:
    def on_step(step: int, value: float) -> None:
        trial.report(value, step)
        if trial.should_prune():
            trial.set_user_attr("pruned_at", step)
            raise optuna.TrialPruned(f"pruned at step {step}")

    return on_step
