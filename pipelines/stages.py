"""The pipeline's stages, declared once, in order. The train and features flows, the benchmarks and the
notebooks all run these lists: a flow wraps each stage as a Prefect task, the others call it directly.

Each stage is a plain function in the module that owns it, with typed inputs and output. A stage names its
inputs and its output; `run_stages` passes values between stages by those names, times each stage and records
its host<->device copies in the residency ledger (GPU). An input in brackets is optional: values["placement"],
where the run's rows live (pipelines.data.placement: this process, or a Dask cluster's workers with --cluster),
decided once when the run starts; absent, the rows are in this process.

    cache-lookup  recipe, backend                      -> lookup      (pipelines.runs.cache)
    load          recipe, backend [, placement]        -> dataset     (pipelines.datasets)
    split         recipe, dataset, backend [, placement] -> parts
    features      recipe, dataset, parts [, placement] -> features
    cache-store   features, lookup                     -> features    (pipelines.runs.cache)
    handoff       features, backend                    -> handoff     (pipelines.training.handoff)
    baselines     features, handoff, config, backend, progress [, placement] -> baselines (pipelines.models)
    train         features, handoff, config, backend, progress, checkpoints [, placement] -> networks
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipelines import datasets, models
from pipelines.backend.host import freeze_imports, release_host_memory
from pipelines.config import RunConfig
from pipelines.features.feature_set import FeatureSet
from pipelines.files import check_writable
from pipelines.runs import cache
from pipelines.runs.record import residency_record
from pipelines.runs.residency import Ledger
from pipelines.training import handoff


@dataclass(kw_only=True, frozen=True)
class Stage:
    """One step: `run(*values[inputs])` becomes `values[output]`. `io`: it reads or writes files (only such
    stages are retried); `device`: it computes on the backend's device (a flow tags it "gpu")."""

    name: str
    run: Callable[..., Any]
    inputs: tuple[str, ...]
    output: str
    io: bool = False
    device: bool = False
    timeout_seconds: int = 3600
    releases: tuple[str, ...] = ()  # values no later stage needs: dropped once this stage has run
    optional: tuple[str, ...] = ()  # inputs passed after `inputs` when `values` holds them


CACHE_LOOKUP = Stage(
    name="cache-lookup",
    run=cache.lookup_features,
    inputs=("recipe", "backend"),
    output="lookup",
    io=True,
    timeout_seconds=1800,
)
FEATURE_STAGES = (
    Stage(
        name="load",
        run=datasets.load_dataset,
        inputs=("recipe", "backend"),
        output="dataset",
        io=True,
        optional=("placement",),
    ),
    Stage(
        name="split",
        run=datasets.split_dataset,
        inputs=("recipe", "dataset", "backend"),
        output="parts",
        timeout_seconds=1800,
        optional=("placement",),
    ),
    Stage(
        name="features",
        run=datasets.fit_features,
        inputs=("recipe", "dataset", "parts"),
        output="features",
        device=True,
        releases=("dataset", "parts"),
        optional=("placement",),
    ),
)
CACHE_STORE = Stage(
    name="cache-store",
    run=cache.store_features,
    inputs=("features", "lookup"),
    output="features",
    io=True,
    timeout_seconds=1800,
)
HANDOFF = Stage(
    name="handoff",
    run=handoff.hand_off,
    inputs=("features", "backend"),
    output="handoff",
    device=True,
    timeout_seconds=600,
)
MODEL_STAGES = (
    HANDOFF,
    Stage(
        name="baselines",
        run=models.fit_baselines,
        inputs=("features", "handoff", "config", "backend", "progress"),
        output="baselines",
        device=True,
        timeout_seconds=4 * 3600,
        optional=("placement",),
    ),
    Stage(
        name="train",
        run=models.train_networks,
        inputs=("features", "handoff", "config", "backend", "progress", "checkpoints"),
        output="networks",
        device=True,
        timeout_seconds=12 * 3600,
        optional=("placement",),
    ),
)
# Every stage of a run that computes its features, in order (the cache stages are the flows' to place).
STAGES = FEATURE_STAGES + MODEL_STAGES
# The outputs that hold fitted models, in the order metrics.json lists them.
FITTED = ("baselines", "networks")


def run_stages(
    stages: tuple[Stage, ...],
    values: dict[str, Any],
    ledger: Ledger,
    seconds: dict[str, float],
    wrap: Callable[[Stage], Callable[..., Any]] | None = None,
    report: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Run `stages` in order over `values` (which must hold "backend" and each first stage's inputs).

    `wrap(stage)` gives the callable to run instead of `stage.run` (a flow's Prefect task); `report(name,
    seconds)` hears of each finished stage (a progress line)."""
    freeze_imports()  # the collections between stages then scan only what the stages made
    for stage in stages:
        call = wrap(stage) if wrap is not None else stage.run
        started = time.perf_counter()
        with ledger.stage(stage.name):
            arguments = [values[name] for name in stage.inputs] + [
                values[name] for name in stage.optional if name in values
            ]
            values[stage.output] = call(*arguments)
            values["backend"].synchronize()
        seconds[stage.name] = round(time.perf_counter() - started, 3)
        for name in stage.releases:
            _release(values.pop(name, None))
        release_host_memory()  # what the stage freed goes back to the system before the next one peaks
        if report is not None:
            report(stage.name, seconds[stage.name])
    return values


def _release(value: Any) -> None:
    """Let go of a value no later stage needs. A dict of frames is emptied too: a Prefect task run's parameters
    outlive the task in copies of its context, and would otherwise keep every frame of the dict alive."""
    if isinstance(value, dict):
        value.clear()


def fitted_models(values: dict[str, Any]) -> dict[str, models.FittedModel]:
    """Every fitted model of a run, baselines first, from the values the model stages produced."""
    return {name: model for output in FITTED for name, model in values.get(output, {}).items()}


def check_run(config: RunConfig) -> datasets.Recipe:
    """Every check that needs no data read: the settings, the output folder (and the feature cache's), the
    dataset's inputs, the models asked for. Returns the run's recipe."""
    config.check()
    check_writable(config.output, "--output")
    if config.cache:
        check_writable(config.cache_dir, "--data-dir (or run with --no-cache)")
    recipe = datasets.recipe_for(config)
    recipe.check()
    models.check(config)
    return recipe


def run_feature_stages(
    values: dict[str, Any],
    ledger: Ledger,
    seconds: dict[str, float],
    wrap: Callable[[Stage], Callable[..., Any]] | None = None,
    store: bool = True,
) -> FeatureSet:
    """values["features"] from the feature cache, or computed by FEATURE_STAGES (and stored when `store`)."""
    run_stages((CACHE_LOOKUP,), values, ledger, seconds, wrap)
    lookup = values["lookup"]
    if lookup.features is not None:
        values["features"] = lookup.features
        return lookup.features
    run_stages(FEATURE_STAGES, values, ledger, seconds, wrap)
    if store:  # features written to disk leave the device: the ledger counts it, outside the strict stages
        return run_stages((CACHE_STORE,), values, ledger, seconds, wrap)["features"]
    return cache.uncached(values["features"], lookup)


@dataclass(kw_only=True)
class Trained:
    """What a run's stages made, as pipelines.runs.record.write_run takes it."""

    features: FeatureSet
    handoff: handoff.Handoff
    fitted: dict[str, models.FittedModel]
    seconds: dict[str, float]
    residency: dict[str, Any]


def train_all(
    values: dict[str, Any],
    wrap: Callable[[Stage], Callable[..., Any]] | None = None,
    after_features: Callable[[FeatureSet], None] | None = None,
) -> Trained:
    """A run's stages over `values` (recipe, backend, config, progress, checkpoints, placement): the features
    through the cache, then MODEL_STAGES, strict residency checked. `wrap` as run_stages takes it;
    `after_features(features)` hears of the features before the models train (a flow's log lines)."""
    config = values["config"]
    ledger, seconds = Ledger.for_run(values["backend"].is_gpu, config.strict_residency), {}
    features = run_feature_stages(values, ledger, seconds, wrap, store=config.cache)
    if after_features is not None:
        after_features(features)
    run_stages(MODEL_STAGES, values, ledger, seconds, wrap)
    if config.strict_residency:
        ledger.check()
    residency = residency_record(ledger.as_dict(), values["handoff"])
    fitted = fitted_models(values)
    return Trained(features=features, handoff=values["handoff"], fitted=fitted, seconds=seconds, residency=residency)
