"""Trials on the workers of a Dask cluster: `devicepipe tune --jobs N` (a LocalCluster of N processes on this machine)
or `--cluster` (the run's cluster, whose workers already hold the features).

    tuning_where    where a tune computes its features and runs its trials, from its settings
    trial_cluster   the LocalCluster of `--jobs N`: N processes, the machine's cores shared out between them
    place_splits    the train and valid splits on every worker, once: the partitions a --cluster run keeps on the
                    workers gathered worker to worker and handed off there, or this process's splits broadcast
    run_trials      one trial at a time per worker until the trials asked for are done or the timeout has passed

The study's storage lives on the scheduler (optuna-integration's DaskStorage over the tune folder's journal), so the
workers need not see this machine's disk; each trial reports its steps there and its pruner reads them there. A trial
uses as many threads as its worker has (its BLAS, OpenMP and torch pools capped to that), so trials side by side never
oversubscribe the cores; on --cluster local-cuda each worker has its own GPU.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import optuna
import torch

from pipelines.backend import joined
from pipelines.cluster.client import close_local, worker_losses
from pipelines.cluster.quiet_worker import QUIET
from pipelines.data.placement import IN_PROCESS, Placement, placement_of
from pipelines.errors import ConfigError
from pipelines.features.feature_set import FeatureSet
from pipelines.models import Split
from pipelines.models.base import ModelAdapter
from pipelines.training.distributed.from_cluster import process_backend
from pipelines.training.handoff import Handoff, device_data
from pipelines.training.loop import NonFiniteLoss
from pipelines.tuning.objective import TRIAL_SPLITS, make_objective, trial_splits
from pipelines.tuning.study import counted, searching

WORKER = "worker"  # a trial's user attribute: the Dask worker that ran it


@contextlib.contextmanager
def tuning_where(config: Any, jobs: int | None, backend: str) -> Iterator[tuple[Placement, Any]]:
    """The placement of a tune's feature stages and the Dask client its trials run on (None: this process), on the
    backend chosen ("cpu" | "gpu"): the run's cluster with --cluster (at most `jobs` of its workers), a LocalCluster
    of `jobs` processes with --jobs above 1, else this process alone. Closed on the way out."""
    if config.cluster != "none":
        with placement_of(config, backend) as placement:
            if jobs is not None and jobs > placement.workers:
                raise ConfigError(
                    f"--jobs {jobs} asks for more trials at a time than the cluster's {placement.workers} workers "
                    "(one trial at a time on each). Use fewer --jobs, or start more workers."
                )
            yield placement, placement.client
    elif (jobs or 1) > 1:
        if backend == "gpu":
            raise ConfigError(
                f"--jobs {jobs} on the GPU backend would put {jobs} trials on one GPU. Use --cluster local-cuda (one "
                "worker, and one trial at a time, per GPU), or --jobs 1."
            )
        with trial_cluster(jobs) as client:
            yield IN_PROCESS, client
    else:
        yield IN_PROCESS, None


@contextlib.contextmanager
def trial_cluster(jobs: int) -> Iterator[Any]:
    """A Dask client of a LocalCluster of `jobs` worker processes, the cores shared out between them (at least one
    thread each), closed on the way out."""
    from distributed import Client, LocalCluster  # here: a tune with --jobs 1 never starts Dask

    threads = max(1, (os.cpu_count() or 1) // jobs)
    logging.getLogger("distributed").setLevel(logging.WARNING)  # its scheduler, in this process, logs at INFO
    options = {"dashboard_address": ":0", "silence_logs": logging.CRITICAL, "preload": [QUIET]}
    cluster = LocalCluster(n_workers=jobs, threads_per_worker=threads, processes=True, **options)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        close_local(cluster)


def dask_storage(client: Any, storage: Any) -> Any:
    """`storage` held by the client's scheduler, reached from every worker through it (optuna-integration)."""
    from optuna_integration.dask import DaskStorage  # here: only a tune on Dask needs it

    client.run(_quiet)
    client.run_on_scheduler(_quiet)
    _quiet()
    return DaskStorage(storage=storage, client=client)


def _quiet() -> None:
    """In each process of the cluster: DaskStorage's notice that it is experimental (given each time one is
    unpickled) and Optuna's line per trial silenced; the tune writes its own line per trial."""
    import warnings

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", "DaskStorage is experimental", optuna.exceptions.ExperimentalWarning)


def place_splits(client: Any, workers: list[str], features: FeatureSet, handoff: Handoff, backend: Any) -> dict:
    """Worker address -> the future of the trial splits on that worker (train and valid, never test)."""
    kept = features.on_workers
    if not all(name in kept for name in TRIAL_SPLITS):
        held = client.scatter(trial_splits(features, handoff), broadcast=True, workers=workers)
        return dict.fromkeys(workers, held)
    sides = [getattr(kept[name], side) for name in TRIAL_SPLITS for side in ("frame", "target")]
    parts = [client.compute(side.to_delayed()) for side in sides]
    return {
        worker: client.submit(
            _assembled, parts, features.workflow, backend.name, workers=[worker], allow_other_workers=False, pure=False
        )
        for worker in workers
    }


def _assembled(parts: list[list[Any]], workflow: Any, backend_name: str) -> dict[str, Split]:
    """On a worker: the splits' partitions joined, and handed off there (zero-copy on its GPU, with the GPU backend)."""
    backend, splits = process_backend(backend_name), {}
    for index, name in enumerate(TRIAL_SPLITS):
        frame, target = (joined(pieces) for pieces in parts[2 * index : 2 * index + 2])
        data, _, _ = device_data(frame, workflow, backend, target, check_nulls=False)
        splits[name] = Split(frame, target, data)
    return splits


def run_trials(
    client: Any,
    held: dict[str, Any],
    storage: Any,
    study: optuna.Study,
    family: type[ModelAdapter],
    trials: int,
    timeout: float | None,
    context: dict[str, Any],
    callbacks: list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]],
) -> None:
    """`trials` trials of `study` (opened on `storage`, a DaskStorage: `dask_storage`), one at a time on each
    worker of `held`, none started after `timeout` seconds; each callback hears every trial as it ends. `context`:
    the workflow, the run's config, the backend's name, the seed of the first trial's sampler, and the `limit` of
    the study's trials (--trials: none is submitted once the study's ended and running trials reach it)."""
    from distributed import as_completed  # here: a tune with --jobs 1 never starts Dask

    started, submitted, running = time.monotonic(), 0, {}

    def submit(worker: str) -> Any:
        nonlocal submitted
        seed = context["seed"] + submitted  # each trial's sampler its own draws, the same on a rerun
        arguments = (storage, study.study_name, family, held[worker], context, seed)
        future = client.submit(_trial, *arguments, workers=[worker], allow_other_workers=False, pure=False)
        submitted += 1
        running[future] = worker
        return future

    queue = as_completed([submit(worker) for worker in list(held)[:trials]])
    with worker_losses(f"Tuning {family.name} on the cluster"):
        for future in queue:
            worker = running.pop(future)
            number = future.result()
            trial = study.get_trials(deepcopy=False)[number]
            for callback in callbacks:
                callback(study, trial)
            # --trials counts the study's trials of every tune: those ended and this one's in flight
            wanted = submitted < trials and counted(study) + len(running) < context["limit"]
            if wanted and (timeout is None or time.monotonic() - started < timeout):
                queue.add(submit(worker))


def _trial(storage: Any, name: str, family: type[ModelAdapter], splits: dict, context: dict, seed: int) -> int:
    """On a worker: one trial of the study `name`, with the worker's threads; returns its number."""
    from distributed import get_worker  # here: this runs on a Dask worker
    from threadpoolctl import threadpool_limits  # here: BLAS and OpenMP pools, capped for this trial only

    worker = get_worker()
    threads = worker.state.nthreads
    config, backend = context["config"], process_backend(context["backend"])
    study = optuna.load_study(study_name=name, storage=storage, **searching(family, seed))
    objective, numbers = make_objective(family, splits, context["workflow"], config, backend), []

    def run(trial: optuna.Trial) -> float:
        numbers.append(trial.number)
        trial.set_user_attr(WORKER, worker.address)
        return objective(trial)

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            study.optimize(run, n_trials=1, catch=(NonFiniteLoss,))
    finally:
        torch.set_num_threads(before)
    return numbers[0]
