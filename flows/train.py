"""The `train` flow: load -> split -> features -> handoff -> baselines -> MLP -> run directory.

Tasks pass frames and tensors in memory within the run; nothing goes through Prefect's result storage
(NO_CACHE: task inputs are never hashed or persisted). Only the load stage does I/O worth retrying.
With no PREFECT_API_URL set, Prefect runs this on its embedded temporary server.

    python -m flows.train [--data PATH --target COL ...]   (same options as `devicepipe run`)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pipelines import backend as backends
from pipelines import job
from pipelines.backend import Backend, library_versions
from pipelines.bundle import save_bundle
from pipelines.cache import FeatureCache, cache_key
from pipelines.config import RunConfig
from pipelines.errors import DevicepipeError
from pipelines.report import metrics_table, write_report
from pipelines.residency import Ledger
from pipelines.rundir import CONFIG, RunDirectory, git_commit

CHECKPOINT = "checkpoints/mlp.pt"
GPU_ONLY_OPTIONS = {"--strict-residency": "strict_residency", "--rmm-pool": "rmm_pool", "--spill": "spill"}


def _retry_io_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry transient I/O failures; a DataError (bad input) fails at once."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, OSError) and not isinstance(error, DevicepipeError)


@task(name="select-backend", cache_policy=NO_CACHE, timeout_seconds=600)
def select_backend(config: RunConfig) -> Backend:
    """Pick the compute backend (cpu / gpu) and, on the GPU, its memory settings."""
    return backends.select(config.backend, rmm_pool=config.rmm_pool, spill=config.spill)


@task(
    name="load",
    cache_policy=NO_CACHE,
    timeout_seconds=3600,
    retries=3,
    retry_delay_seconds=[2, 5, 15],
    retry_condition_fn=_retry_io_only,
    tags=["io"],
)
def load(config: RunConfig, backend: Backend) -> job.Dataset:
    """Read the input files into the backend's frame, validated, target encoded."""
    return job.load_dataset(config, backend)


@task(name="split", cache_policy=NO_CACHE, timeout_seconds=1800)
def split(dataset: job.Dataset, config: RunConfig, backend: Backend) -> dict:
    """Train / valid / test."""
    return job.split_dataset(dataset, config, backend)


@task(name="features", cache_policy=NO_CACHE, timeout_seconds=3600, tags=["gpu"])
def features(dataset: job.Dataset, parts: dict, config: RunConfig) -> job.Features:
    """Fit the feature workflow on train; transform every split."""
    return job.fit_features(dataset, parts, config)


@task(name="cache-lookup", cache_policy=NO_CACHE, timeout_seconds=1800, tags=["io"])
def cache_lookup(config: RunConfig, backend: Backend) -> tuple[dict, str, Any]:
    """Hash the inputs; return them, the feature cache key and the cached entry (None on a miss)."""
    inputs = job.hash_inputs(config)
    key = cache_key(config, inputs)
    entry = FeatureCache(config.cache_dir).load(key, backend) if config.cache else None
    return inputs, key, entry


@task(name="cache-store", cache_policy=NO_CACHE, timeout_seconds=1800, tags=["io"])
def cache_store(data: job.FeatureSet, config: RunConfig, key: str) -> str:
    """Write the features to the cache for the next run on the same inputs."""
    meta = {"target": data.target, "counts": data.counts, "notes": data.notes, "inputs": data.inputs}
    feats = data.features
    return str(FeatureCache(config.cache_dir).store(key, feats.workflow, feats.frames, feats.targets, meta))


@task(name="handoff", cache_policy=NO_CACHE, timeout_seconds=600, tags=["gpu"])
def handoff(feats: job.Features, backend: Backend) -> job.Handoff:
    """Zero-copy DLPack handoff of the feature columns to torch."""
    return job.hand_off(feats, backend)


@task(name="baselines", cache_policy=NO_CACHE, timeout_seconds=14400, tags=["gpu"])
def baselines(feats: job.Features, hand: job.Handoff, config: RunConfig, backend: Backend) -> tuple:
    """Fit and score the baseline models."""
    fitted = job.fit_baselines(feats, config, backend)
    return fitted, job.score_baselines(fitted, feats, hand, config, backend)


@task(name="train-mlp", cache_policy=NO_CACHE, timeout_seconds=43200, tags=["gpu"])
def train_mlp(hand: job.Handoff, feats: job.Features, config: RunConfig, run: RunDirectory, progress: bool) -> tuple:
    """Train the MLP on device batches with early stopping; checkpoint every epoch, resume if one exists."""
    return job.train_network(hand, feats, config, progress=progress, checkpoint=run.path(CHECKPOINT))


@task(name="write-run", cache_policy=NO_CACHE, timeout_seconds=1800, tags=["io"])
def write_run(
    run: RunDirectory,
    config: RunConfig,
    backend: Backend,
    data: job.FeatureSet,
    hand: job.Handoff,
    fitted: dict,
    mlp: Any,
    metrics: dict,
    seconds: dict,
    residency: dict,
) -> str:
    """Write metrics, manifest and the model bundle; the run directory appears only when complete."""
    workflow = data.features.workflow
    run.write_json("metrics.json", metrics)
    save_bundle(run, workflow, fitted, mlp, backend)
    write_report(run, metrics, mlp.history, data.notes, residency)
    manifest = {
        "config": config.as_dict(),
        "inputs": data.inputs,
        "target": asdict(data.target),
        "counts": data.counts,
        "notes": data.notes,
        "feature_cache": data.cache,
        "features": {"numeric": workflow.numeric_, "categorical": workflow.categorical_},
        "versions": library_versions(),
        "backend": {
            "name": backend.name,
            "device": backend.device_name,
            "rmm_pool": config.rmm_pool,
            "spill": config.spill,
        },
        "git_commit": git_commit(),
        "seconds": seconds,
        "handoff": hand.check,
        "residency": residency,
        "mlp": {"best_epoch": mlp.best_epoch, "resumed_from_epoch": mlp.resumed_from_epoch, "history": mlp.history},
    }
    return str(run.commit(manifest))


def _gpu_only_options(config: RunConfig, chosen: Backend, logger: Any) -> list[str]:
    """A note (and a warning) when options that act on the GPU alone were given to a run on the CPU."""
    given = [name for name, on in GPU_ONLY_OPTIONS.items() if getattr(config, on)]
    if not given or chosen.is_gpu:
        return []
    verb = "acts" if len(given) == 1 else "act"
    note = f"{', '.join(given)} {verb} on the GPU backend only; this run was on the CPU, where it did nothing"
    logger.warning(note)
    return [note]


@contextmanager
def _stage(seconds: dict[str, float], ledger: Ledger, stage: str) -> Iterator[None]:
    """Time a stage and record its host<->device copies in the residency ledger."""
    started = time.perf_counter()
    with ledger.stage(stage):
        yield
    seconds[stage] = round(time.perf_counter() - started, 3)


def open_run(config: RunConfig, resume: str | None) -> tuple[RunDirectory, RunConfig]:
    """A new run directory for `config`, or the interrupted one at `resume` with the config it was started with."""
    if resume is None:
        run = RunDirectory(config.output)
        run.write_json(CONFIG, config.as_dict())
        return run, config
    run = RunDirectory.reopen(resume)
    return run, RunConfig(**run.read_json(CONFIG)).check()


@flow(name="train")
def train(
    data: str | None = None,
    target: str | None = None,
    task: str = "classification",
    time_column: str | None = None,
    drop: list[str] | None = None,
    backend: str = "auto",
    output: str = "runs",
    data_dir: str = "data",
    seed: int = 0,
    sample: float | None = None,
    epochs: int = 6,
    models: list[str] | None = None,
    cache: bool = True,
    strict_residency: bool = False,
    rmm_pool: bool = False,
    spill: bool = False,
    progress: bool = True,
    resume: str | None = None,
) -> str:
    """Train and evaluate baselines and the MLP; returns the run directory.

    `resume`: the `.incomplete-<name>` folder of an interrupted run; its saved config replaces the others.
    """
    config = RunConfig(
        data=data,
        target=target,
        task=task,
        time_column=time_column,
        drop=list(drop or []),
        backend=backend,
        output=output,
        data_dir=data_dir,
        seed=seed,
        sample=sample,
        epochs=epochs,
        baselines=models,
        cache=cache,
        strict_residency=strict_residency,
        rmm_pool=rmm_pool,
        spill=spill,
    )
    if resume is None:
        job.check_inputs(config)
    run, config = open_run(config, resume)
    logger = get_run_logger()
    try:
        return _train(run, config, progress, logger)
    except BaseException:
        if run.path(CHECKPOINT).exists():
            logger.error("the run stopped; its checkpoints are kept: devicepipe run --resume %s", run.staging)
        else:
            run.abort()  # nothing worth keeping: leave nothing half written
        raise


def _train(run: RunDirectory, config: RunConfig, progress: bool, logger: Any) -> str:
    seconds: dict[str, float] = {}
    chosen = select_backend(config)
    ledger = Ledger(enabled=chosen.is_gpu)
    logger.info("backend: %s (%s); run %s", chosen.name, chosen.device_name, run.name)
    with _stage(seconds, ledger, "load"):
        inputs, key, entry = cache_lookup(config, chosen)
        if entry is None:
            dataset = load(config, chosen)
    if entry is not None:
        data = job.cached_feature_set(entry, inputs, key, FeatureCache(config.cache_dir).path(key))
        logger.info("features from the cache (%s): load, split and features skipped", data.cache["path"])
    else:
        with _stage(seconds, ledger, "split"):
            parts = split(dataset, config, chosen)
        with _stage(seconds, ledger, "features"):
            data = job.feature_set(dataset, parts, features(dataset, parts, config))
        stored = None
        if config.cache:  # features written to disk leave the device: the ledger counts it, outside the strict stages
            with _stage(seconds, ledger, "cache-store"):
                stored = cache_store(data, config, key)
        data.cache = {"key": key, "hit": False, "path": stored}
    with _stage(seconds, ledger, "handoff"):
        hand = handoff(data.features, chosen)
    with _stage(seconds, ledger, "baselines"):
        fitted, scores = baselines(data.features, hand, config, chosen)
    data.notes += [warning for model in fitted.values() for warning in model.warnings]
    data.notes += _gpu_only_options(config, chosen, logger)
    with _stage(seconds, ledger, "train"):
        mlp, mlp_scores = train_mlp(hand, data.features, config, run, progress)
    if config.strict_residency:
        ledger.check()
    scores[job.MLP] = mlp_scores
    metrics = job.metrics_document(data, scores, config, chosen)
    residency = {
        **ledger.as_dict(),
        "handoff_zero_copy": hand.check["zero_copy"],
        "device_to_device_assembly_bytes": hand.assembled_bytes,
    }
    started = time.perf_counter()
    run_dir = write_run(run, config, chosen, data, hand, fitted, mlp, metrics, seconds, residency)
    seconds["write"] = round(time.perf_counter() - started, 3)
    logger.info("test metrics:\n%s\nrun directory: %s", metrics_table(metrics), run_dir)
    create_markdown_artifact(
        key="train-metrics",
        markdown=f"## Test metrics\n\n```\n{metrics_table(metrics)}\n```\n\n"
        f"Run directory: `{Path(run_dir).resolve()}`\n\nReport: `{Path(run_dir).resolve() / 'report.md'}`",
        description="train flow: metrics of every model and the run's report",
    )
    return run_dir


if __name__ == "__main__":
    from flows.cli import main

    main(["run", *__import__("sys").argv[1:]])
