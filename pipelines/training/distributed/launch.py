"""Starting the processes of a distributed training run (pipelines.training.distributed.trainer), waiting for them, and
the error to raise when one fails: a process's own DevicepipeError (a NonFiniteLoss, a refused checkpoint) as it raised
it, else TrainingProcessFailed naming the process that was killed or failed first. A failing process reports in a file
of its own, written atomically (pipelines.training.distributed.rank.main); every process is stopped before this returns.
"""

from __future__ import annotations

import json
import signal
import time
from multiprocessing import connection
from pathlib import Path
from typing import Any

import torch.multiprocessing as mp

from pipelines.errors import DevicepipeError
from pipelines.training.distributed.rank import RankJob, main, report_path
from pipelines.training.types import DeviceData

STOP_SECONDS = 10.0  # for a stopped process to exit before it is killed
SETTLE_SECONDS = 2.0  # for the other processes to end by themselves once one has failed


class TrainingProcessFailed(DevicepipeError):
    """A process of a distributed training run died or failed; the others were stopped. Not the input's fault:
    the CLI prints the message and exits 1."""

    exit_code = 1


def run_processes(job: RankJob, shards: list[DeviceData], valid: DeviceData) -> None:
    """Start one process per shard and wait for all of them; stop them all when one fails."""
    context = mp.get_context("spawn")
    processes = [
        context.Process(target=main, args=(rank, job, shard, valid if rank == 0 else None), daemon=True)
        for rank, shard in enumerate(shards)
    ]
    try:
        for process in processes:
            process.start()
        failed = _wait(processes)
        if failed is not None:
            _settle(processes)
        ended = [p.exitcode for p in processes]  # before the others are stopped
    finally:
        _stop(processes)
    if failed is not None:
        raise _failure(processes.index(failed), ended, [p.pid for p in processes], _reports(job), job)


def _wait(processes: list[Any]) -> Any:
    """Wait until every process exits; the first that fails is returned (None when all succeed)."""
    alive = list(processes)
    while alive:
        ready = connection.wait([p.sentinel for p in alive], timeout=1.0)
        for process in [p for p in alive if p.sentinel in ready]:
            process.join()
            alive.remove(process)
            if process.exitcode != 0:
                return process
    return None


def _settle(processes: list[Any]) -> None:
    """Give the others SETTLE_SECONDS to end by themselves after one failed. A killed process closes its sockets
    before the kernel lets its parent see it exit, so its partner may fail (connection closed) and be seen first:
    waiting a moment lets the exit codes say which process was killed."""
    deadline = time.monotonic() + SETTLE_SECONDS
    alive = [p for p in processes if p.exitcode is None]
    while alive and time.monotonic() < deadline:
        connection.wait([p.sentinel for p in alive], timeout=max(deadline - time.monotonic(), 0))
        alive = [p for p in alive if p.exitcode is None]


def _stop(processes: list[Any]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()


def _reports(job: RankJob) -> list[tuple[int, DevicepipeError | None, str]]:
    """The failing processes' reports, the first written first: (rank, its DevicepipeError or None, traceback)."""
    found = []
    for rank in range(job.world_size):
        path = report_path(job.folder, rank)
        if path.exists():
            report = json.loads(path.read_text())
            kind = _error_class(report["error"])
            error = None if kind is None else kind(report["message"])
            found.append((report["time"], rank, error, report["traceback"]))
    return [entry[1:] for entry in sorted(found, key=lambda entry: entry[:2])]


def _error_class(name: str | None) -> type[DevicepipeError] | None:
    """The DevicepipeError subclass named `module.qualname` (a process reports its error by name)."""
    pending: list[type[DevicepipeError]] = [DevicepipeError]
    while pending and name is not None:
        kind = pending.pop()
        if f"{kind.__module__}.{kind.__qualname__}" == name:
            return kind
        pending += kind.__subclasses__()
    return None


def _failure(
    failed: int, ended: list[int | None], pids: list[int], reports: list[tuple[int, Any, str]], job: RankJob
) -> Exception:
    """The error to raise: a process's own DevicepipeError first, then a process killed by a signal (before the
    others were stopped), then the first to report a failure (the others fail after it, when it closes its
    connections), with the last line of its traceback."""
    for rank, error, _ in reports:
        if error is not None:
            return type(error)(f"Training process {rank} of {job.world_size}: {error}")
    kept = ""
    if job.checkpoint is not None and Path(job.checkpoint).exists():
        kept = f" The last complete checkpoint is kept at {job.checkpoint}: run again to resume from it."
    killed = [rank for rank, code in enumerate(ended) if code is not None and code < 0]
    rank = killed[0] if killed else reports[0][0] if reports else failed
    if killed:
        what = f"was killed by {signal.Signals(-ended[rank]).name}"
    else:
        last = next((text.strip().splitlines()[-1] for r, _, text in reports if r == rank), "no report")
        what = f"failed: {last}"
    return TrainingProcessFailed(
        f"Training process {rank} of {job.world_size} (pid {pids[rank]}) {what}; the other processes "
        f"were stopped.{kept} A process killed for memory needs fewer processes (gpus) or a smaller batch."
    )
