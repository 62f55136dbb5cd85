"""`tune`: each family's study run on features computed once, then its best settings scored on the test split once.

    <folder>/study.journal     every family's Optuna study (pipelines.tuning.study)
    <folder>/trials.csv        one row per trial: family, number, state, value, seconds, pruned at, its settings
    <folder>/best_params.json  per family: the best trial's settings, its validation metric, and the test scores
                               of the family fitted once more with them (the only time the test split is read)
    <folder>/report.html       the same, with each study's history, settings' importances and trials
                               (pipelines.tuning.report)

`--trials N` counts the study's completed and pruned trials, so a tune run again with the same study goes on
where the last one stopped; `--timeout` bounds each family's search, in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from pipelines.config import RunConfig, describe_data
from pipelines.evaluate import HIGHER_IS_BETTER, PRIMARY
from pipelines.features.feature_set import FeatureSet
from pipelines.files import write_text_atomic
from pipelines.models import FAMILIES, FitOptions, fit_and_score
from pipelines.models.base import ModelAdapter
from pipelines.models.tuned import BEST, TUNE_LATEST
from pipelines.training.handoff import Handoff
from pipelines.training.loop import NonFiniteLoss
from pipelines.tuning.objective import make_objective, trial_splits
from pipelines.tuning.on_dask import dask_storage, place_splits, run_trials
from pipelines.tuning.report import write_report
from pipelines.tuning.study import COUNTED, DEFAULTS, counted, journal, open_study, trial_rows

TRIALS = "trials.csv"


@dataclass(kw_only=True, frozen=True)
class TuneRequest:
    """What `devicepipe tune` asks beyond the run's settings: the families, how many trials, the study's name."""

    families: list[str]
    trials: int
    timeout: float | None = None  # seconds per family
    study: str = "tune"
    jobs: int | None = None  # trials at a time: None is 1 in this process, or one per worker of a cluster
    # A study per data: <study>-<the features' fingerprint>, so new data (the tune deployment's, each week) start a
    # new study instead of being refused, and the same data continue theirs (`study_for`).
    per_data: bool = False


def study_for(request: TuneRequest, features: FeatureSet) -> TuneRequest:
    """`request` with its study's final name: with `per_data`, the name and the first 8 characters of the features'
    fingerprint (the feature cache's key)."""
    if not request.per_data:
        return request
    fingerprint = str(features.cache.get("key"))[:8]
    return dataclasses.replace(request, study=f"{request.study}-{fingerprint}", per_data=False)


def tune_folder(output: str | Path, study: str) -> Path:
    """Where a study's tune lives: <output>/tune-<study>/ (a later tune of the same study continues there)."""
    return Path(output) / f"tune-{study}"


def tune(
    features: FeatureSet,
    handoff: Handoff,
    config: RunConfig,
    backend: Any,
    request: TuneRequest,
    folder: Path,
    say: Callable[[str], None] = print,
    on_trial: Callable[[int, int], None] | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """Search each family's settings on the validation split, write the folder's files; returns best_params.
    `say` hears one line per trial and family; `on_trial(done, asked)` the trials counted so far over every family.
    With a Dask `client`, the trials run on its workers (`request.jobs` of them, or all), one at a time on each
    (pipelines.tuning.on_dask); without, one at a time in this process."""
    metric, splits = PRIMARY[config.task], trial_splits(features, handoff)
    described, workers = describe_data(config), _Workers.of(client, request.jobs, features, handoff, backend)
    best: dict[str, Any] = {
        "study": request.study,
        "metric": metric,
        "direction": "maximize" if HIGHER_IS_BETTER[metric] else "minimize",
        "data": described,
        "features": features.cache.get("key"),
        "families": {},
    }
    rows, asked, done_before, studies = [], request.trials * len(request.families), 0, {}
    for name in request.families:
        family = FAMILIES[name]
        key = str(features.cache.get("key"))
        study_name, storage = f"{request.study}.{name}", workers.storage(folder)
        study = open_study(folder, study_name, metric, key, described, config.seed, family, config.task, storage)
        remaining = request.trials - counted(study)
        if remaining > 0:
            say(f"{name}: {remaining} trial(s) to run ({counted(study)} done before){workers.where}")
            callbacks = [_said(name, say)]
            if on_trial is not None:
                callbacks.append(lambda study, _, before=done_before: on_trial(before + counted(study), asked))
            workers.run(study, family, remaining, request, (splits, features.workflow, config, backend), callbacks)
        done_before += min(counted(study), request.trials)
        studies[name] = study
        rows += [{"family": name, **row} for row in trial_rows(study)]
        tested = best["families"][name] = _tested(family, study, features, handoff, config, backend)
        say(f"{name}: best valid {metric} {study.best_value:.4f}; its test {metric} {tested['test'][metric]:.4f}")
    write_text_atomic(folder / TRIALS, pd.DataFrame(rows).to_csv(index=False))
    write_text_atomic(folder / BEST, json.dumps(best, indent=2) + "\n")
    write_report(folder, best, studies)
    point_latest(folder)
    return best


def point_latest(folder: Path) -> None:
    """<output>/tune-latest -> this tune folder (a relative link, replaced in one step)."""
    link = folder.parent / f".{TUNE_LATEST}-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(folder.name)
    os.replace(link, folder.parent / TUNE_LATEST)


@dataclass
class _Workers:
    """Where a tune's trials run: this process (no client), or the workers of `held` (address -> their splits)."""

    client: Any = None
    held: dict[str, Any] | None = None
    shared: Any = None  # the DaskStorage of the folder's journal

    @classmethod
    def of(cls, client: Any, jobs: int | None, features: FeatureSet, handoff: Handoff, backend: Any) -> _Workers:
        if client is None:
            return cls()
        addresses = sorted(client.scheduler_info(n_workers=-1)["workers"])[: jobs or None]
        return cls(client, place_splits(client, addresses, features, handoff, backend))

    @property
    def where(self) -> str:
        return "" if self.held is None else f", {len(self.held)} at a time on Dask workers"

    def run(
        self, study: optuna.Study, family: Any, trials: int, request: TuneRequest, search: tuple, callbacks: list
    ) -> None:
        """`trials` trials of `study`, here or on the workers; `search`: the splits, workflow, config and backend."""
        splits, workflow, config, backend = search
        if self.client is None:
            run = make_objective(family, splits, workflow, config, backend)
            # another tune of the same study (another process) counts too: none runs past --trials in all
            callbacks.append(optuna.study.MaxTrialsCallback(request.trials, states=COUNTED))
            study.optimize(run, n_trials=trials, timeout=request.timeout, catch=(NonFiniteLoss,), callbacks=callbacks)
            return
        context = {"workflow": workflow, "config": config, "backend": backend.name, "limit": request.trials}
        context["seed"] = config.seed + 1 + len(study.get_trials(deepcopy=False))
        run_trials(self.client, self.held, self.shared, study, family, trials, request.timeout, context, callbacks)

    def storage(self, folder: Path) -> Any:
        """The folder's journal, reached through the scheduler when the trials run on workers (made once)."""
        if self.client is None:
            return journal(folder)
        if self.shared is None:
            self.shared = dask_storage(self.client, journal(folder))
        return self.shared


def _tested(
    family: type[ModelAdapter],
    study: optuna.Study,
    features: FeatureSet,
    handoff: Handoff,
    config: RunConfig,
    backend: Any,
) -> dict[str, Any]:
    """The best trial's settings, and the family fitted with them once more, scored on valid and test."""
    trial = study.best_trial
    settings = trial.user_attrs["settings"]
    splits = trial_splits(features, handoff, ("train", "valid", "test"))
    options = FitOptions(seed=config.seed, epochs=config.epochs, settings=settings)
    fitted = fit_and_score(family(config.task, backend, features.workflow), splits, options)
    trials = study.get_trials(deepcopy=False)
    states = [t.state.name.lower() for t in trials]
    defaults = next((t.value for t in trials if t.user_attrs.get(DEFAULTS) and t.value is not None), None)
    return {
        "settings": settings,
        "defaults": family.defaults(config.task),
        "trial": trial.number,
        "valid_in_search": trial.value,
        "valid_with_defaults": defaults,  # the study's first trial: the family's default settings
        "valid": fitted.scores["valid"],
        "test": fitted.scores["test"],
        "trials": {state: states.count(state) for state in ("complete", "pruned", "fail")},
    }


def _said(name: str, say: Callable[[str], None]) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """A study callback: one line per finished trial."""

    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = "" if trial.value is None else f" {trial.value:.4f}"
        pruned = f" at step {trial.user_attrs['pruned_at']}" if "pruned_at" in trial.user_attrs else ""
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
        try:
            best = f"; best {study.best_value:.4f}"
        except ValueError:  # no completed trial yet
            best = ""
        which = " (the defaults)" if trial.user_attrs.get(DEFAULTS) else ""
        say(f"{name} trial {trial.number}{which}: {trial.state.name.lower()}{pruned}{value} in {seconds:.1f} s{best}")

    return callback
