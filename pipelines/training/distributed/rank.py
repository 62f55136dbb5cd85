"""One process of a distributed MLP training run (started by pipelines.training.distributed.trainer): it joins the
process group over the parent's TCPStore on 127.0.0.1, trains DistributedDataParallel on its own shard of the training
rows (sent by the parent, or fetched from the run's Dask cluster: pipelines.training.distributed.from_cluster) with the
epochs every process shares (pipelines.training.loop), and, as rank 0, writes the checkpoints and the result.

Backends: NCCL with one CUDA device per process (rank r on cuda:r), gloo on the CPU. Every collective and the
rendezvous wait at most `RankJob.timeout` seconds; on Linux the process ends when its parent dies. Dropout draws
from a random stream of its own per process (rank 0 keeps the stream one process would have); every process's
state goes into the checkpoint.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from pipelines import evaluate
from pipelines.errors import DevicepipeError
from pipelines.files import atomic_path, write_text_atomic
from pipelines.training.checkpoint import TrainingState, restore, rng_states
from pipelines.training.distributed.from_cluster import ClusterShare
from pipelines.training.early_stopping import EarlyStopping
from pipelines.training.loop import run_epochs
from pipelines.training.single import build_fit
from pipelines.training.types import DeviceData, TrainConfig

HOST = "127.0.0.1"
PR_SET_PDEATHSIG = 1  # prctl(2)
RESULT = "result.pt"
REPORTED_CHARS = 4000  # the end of a failing process's traceback, kept in its report


@dataclass(kw_only=True, frozen=True)
class RankJob:
    """What every process of one run is given besides its shard (the parent pickles it to each)."""

    world_size: int
    port: int  # of the parent's TCPStore
    timeout: float  # seconds, for the rendezvous and for every collective
    threads: int  # torch threads per process on the CPU
    cardinalities: list[int]
    task: str
    config: TrainConfig
    batch_size: int  # rows per process per step
    steps: int  # steps per epoch, the same in every process
    scale: tuple[float, float]  # the regression target's mean and std over all training rows
    checkpoint: Path | None
    folder: Path  # where rank 0 writes the result (RESULT) and a failing process its report (report_path)
    progress: bool
    on_epoch_end: Callable[[int, float], None] | None  # a module-level function: it is pickled to every process


class ProcessGroup:
    """pipelines.training.loop.Group over torch.distributed: rank 0 leads and its validation value is broadcast."""

    def __init__(self, rank: int, size: int, device: torch.device):
        self.rank, self.size, self.device, self.lead = rank, size, device, rank == 0

    def agree(self, value: float) -> float:
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.broadcast(tensor, src=0)
        return float(tensor)

    def checkpoint(self, write: Callable[[list[dict[str, Any]]], None]) -> None:
        states: list[Any] = [None] * self.size
        dist.all_gather_object(states, rng_states())
        if self.lead:
            write(states)
        dist.barrier()  # the checkpoint is complete before any process goes on (or is told to stop)


def main(rank: int, job: RankJob, shard: DeviceData | ClusterShare, valid: DeviceData | None) -> None:
    """The process's entry point: train, or write a report of the error for the parent and exit 1.

    A report is a file written atomically (a process stopped while writing it leaves none, never half of one)."""
    signal.signal(signal.SIGTERM, _stopped)  # the parent stops it: atomic writes in progress clean up
    _end_with_parent()
    try:
        _train(rank, job, shard, valid)
    except SystemExit:
        raise  # stopped by the parent (or its death): the failure is another process's
    except BaseException as error:
        known = isinstance(error, DevicepipeError)
        report = {
            "rank": rank,
            "time": time.time(),  # the first report is the cause; the others fail after it
            "error": f"{type(error).__module__}.{type(error).__qualname__}" if known else None,
            "message": str(error),
            "traceback": traceback.format_exc()[-REPORTED_CHARS:],
        }
        write_text_atomic(report_path(job.folder, rank), json.dumps(report))
        _leave(1)
    _leave(0)


def _leave(code: int) -> None:
    """Exit without the interpreter's teardown: the work is written by now, and torch's C++ threads (gloo, the
    TCPStore client) can abort a process at teardown ("terminate called without an active exception", SIGABRT,
    seen once on a loaded machine after training), which the parent would take for a failure."""
    from multiprocessing import util

    util._run_finalizers(0)  # multiprocessing's own clean-up (semaphores it registered), which _exit skips
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def report_path(folder: Path, rank: int) -> Path:
    return folder / f"rank-{rank}.json"


def _end_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent dies (a parent killed with SIGKILL cannot stop its processes, which
    would train on alone); elsewhere the parent's own stop is all there is."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if not hasattr(libc, "prctl"):
        return
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the request was made
        raise SystemExit(1)


def _stopped(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _train(rank: int, job: RankJob, shard: DeviceData | ClusterShare, valid: DeviceData | None) -> None:
    torch.set_num_threads(job.threads)
    device = torch.device(shard.rows.device_type) if isinstance(shard, ClusterShare) else shard.y.device
    if device.type == "cuda":
        device = torch.device("cuda", rank)
        torch.cuda.set_device(device)
    if isinstance(shard, ClusterShare):  # fetched from the cluster's workers, onto this process's device
        shard = shard.fetch(device, job.timeout, rank)
    else:
        shard = DeviceData(shard.numeric.to(device), shard.codes.to(device), shard.y.to(device))
    wait = timedelta(seconds=job.timeout)
    store = dist.TCPStore(HOST, job.port, is_master=False, timeout=wait)
    dist.init_process_group(
        "nccl" if device.type == "cuda" else "gloo", store=store, rank=rank, world_size=job.world_size, timeout=wait
    )
    try:
        _fit(rank, job, shard, valid, device)
    finally:
        dist.destroy_process_group()


def _fit(rank: int, job: RankJob, shard: DeviceData, valid: DeviceData | None, device: torch.device) -> None:
    config = job.config
    torch.manual_seed(config.seed)  # the same initial weights everywhere (DDP also broadcasts rank 0's)
    group = ProcessGroup(rank, job.world_size, device)

    def wrap(model: torch.nn.Module) -> torch.nn.Module:
        return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    fit = build_fit(shard, job.cardinalities, job.task, config, job.batch_size, job.steps, job.scale, wrap, group)
    if rank:
        torch.manual_seed(config.seed + rank)  # dropout masks of its own
    state = TrainingState(EarlyStopping(metric=evaluate.PRIMARY[job.task], patience=config.patience))
    resumed = None
    if job.checkpoint is not None and Path(job.checkpoint).exists():
        restore(Path(job.checkpoint), fit.parts, state, config, device, rank)
        resumed = state.epoch
    valid = valid if valid is None else DeviceData(valid.numeric.to(device), valid.codes.to(device), valid.y.to(device))
    run_epochs(fit, valid, job.task, config, state, job.progress, job.checkpoint, job.on_epoch_end)
    if rank == 0:
        best = state.early_stopping
        document = {
            "weights": {k: v.detach().cpu() for k, v in best.best_state.items()},
            "best_epoch": best.best_epoch,
            "best_metric": best.best_metric,
            "history": state.history,
            "resumed_from_epoch": resumed,
        }
        with atomic_path(job.folder / RESULT) as tmp:
            torch.save(document, tmp)
