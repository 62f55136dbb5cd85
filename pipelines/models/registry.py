"""The registry of model families (FAMILIES, by name) and the two stages that fit them (fit_baselines, train_networks).

Adding a family is one new module with a ModelAdapter subclass and one line in FAMILIES. The order of FAMILIES is
the order of metrics.json.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from pathlib import Path

from pipelines.backend import Backend
from pipelines.config import RunConfig, describe_data
from pipelines.data.placement import IN_PROCESS, Placement
from pipelines.errors import ConfigError
from pipelines.features.feature_set import FeatureSet
from pipelines.models.base import FitOptions, FittedModel, ModelAdapter, Split, fit_and_score
from pipelines.models.forest import RandomForest
from pipelines.models.linear import LinearRegression, LogisticRegression
from pipelines.models.mlp import MLP
from pipelines.models.tuned import tuned_settings
from pipelines.models.xgboost import XGBoost
from pipelines.training.handoff import Handoff

FAMILIES: dict[str, type[ModelAdapter]] = {
    family.name: family for family in (LogisticRegression, LinearRegression, RandomForest, XGBoost, MLP)
}


def names(task: str, stage: str | None = None) -> list[str]:
    """The families that take `task` (and are fitted by `stage`), in registry order."""
    return [n for n, f in FAMILIES.items() if task in f.tasks and (stage is None or f.stage == stage)]


def family(name: str) -> type[ModelAdapter]:
    if name not in FAMILIES:
        raise ConfigError(f"Unknown model {name!r}: expected one of {', '.join(FAMILIES)}.")
    return FAMILIES[name]


def selected(config: RunConfig, stage: str, backend: str | None = None) -> list[str]:
    """The families `stage` fits for this run on `backend` ("cpu" | "gpu"): `config.models` picks among the
    baselines; without it, every family that is fitted by default on that backend."""
    available = names(config.task, stage)
    if config.models is None or stage != "baselines":
        return [name for name in available if backend is None or backend in FAMILIES[name].default_on]
    unknown = [name for name in config.models if name not in available]
    if unknown:
        trained = " (it always trains; --model picks among the baselines)" if unknown[0] in names(config.task) else ""
        raise ConfigError(f"Unknown baseline {unknown[0]!r}{trained} for {config.task}: expected any of {available}.")
    return [name for name in available if name in config.models]


def left_out(config: RunConfig, backend: str) -> list[str]:
    """Families of the task not fitted by default on `backend` (and not asked for)."""
    if config.models is not None:
        return []
    return [name for name in names(config.task) if backend not in FAMILIES[name].default_on]


def check(config: RunConfig) -> None:
    """Fail fast on a --model that no family of the task answers to, and on --params that do not apply."""
    selected(config, "baselines")
    tuned_settings(config.params, config.task, FAMILIES, describe_data(config))


_warming: threading.Thread | None = None  # warm_up's thread, while it may still be importing


def warm_up(config: RunConfig, backend: Backend, also: tuple[str, ...] = ()) -> None:
    """Import what the run's families need to fit and save (ModelAdapter.warm_up), then the modules named in
    `also`, in a thread of its own while the flow starts and the feature stages run (Prefect's requests and the
    stages' native code let go of the GIL); the model stages wait for it (`warmed`). Best effort: a family that
    cannot run here says so in its stage, where the flow records it, not here."""
    global _warming

    def work() -> None:
        for stage in ("baselines", "train"):
            for name in selected(config, stage, backend.name):
                with contextlib.suppress(Exception):  # the stage reports it
                    FAMILIES[name].warm_up(config.task, backend)
        for module in also:
            with contextlib.suppress(Exception):  # imported again, and any error raised, where it is used
                importlib.import_module(module)

    _warming = threading.Thread(target=work, name="warm-up", daemon=True)
    _warming.start()


def warmed() -> None:
    """Wait until `warm_up`'s imports are done, if it was called: a model stage imports nothing beside them."""
    if _warming is not None:
        _warming.join()


def fit_stage(
    stage: str,
    features: FeatureSet,
    handoff: Handoff,
    config: RunConfig,
    backend: Backend,
    progress: bool = False,
    checkpoints: Path | None = None,
    placement: Placement = IN_PROCESS,
) -> dict[str, FittedModel]:
    """Fit and score every family of `stage` selected for this run; a family that checkpoints writes
    `checkpoints/<name>.pt` (and resumes from it); `placement`: where the run's rows live."""
    warmed()
    splits = {
        name: Split(features.frames[name], features.targets[name], handoff.data[name], features.on_workers.get(name))
        for name in features.frames
    }
    fitted, tuned = {}, tuned_settings(config.params, config.task, FAMILIES, describe_data(config))
    for name in selected(config, stage, backend.name):
        checkpoint = None if checkpoints is None else Path(checkpoints) / f"{name}.pt"
        options = FitOptions(
            seed=config.seed,
            epochs=config.epochs,
            progress=progress,
            checkpoint=checkpoint,
            placement=placement,
            gpus=config.gpus,
            settings=tuned.get(name, {}).get("settings", {}),
        )
        model = FAMILIES[name](config.task, backend, features.workflow)
        fitted[name] = fit_and_score(model, splits, options)
        fitted[name].settings_note = tuned.get(name, {}).get("note")
    return fitted


def fit_baselines(
    features: FeatureSet,
    handoff: Handoff,
    config: RunConfig,
    backend: Backend,
    progress: bool = False,
    placement: Placement = IN_PROCESS,
) -> dict[str, FittedModel]:
    """The baselines stage: every selected estimator, reading the feature frames; with the rows on a Dask cluster,
    the families that have a Dask interface fit on its workers."""
    return fit_stage("baselines", features, handoff, config, backend, progress, placement=placement)


def train_networks(
    features: FeatureSet,
    handoff: Handoff,
    config: RunConfig,
    backend: Backend,
    progress: bool = False,
    checkpoints: Path | None = None,
    placement: Placement = IN_PROCESS,
) -> dict[str, FittedModel]:
    """The train stage: the networks, on the handoff's device tensors, checkpointed under `checkpoints`; with the
    rows on a Dask cluster and --gpus above 1, the training processes fetch their rows from its workers."""
    return fit_stage("train", features, handoff, config, backend, progress, checkpoints, placement)
