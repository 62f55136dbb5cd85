"""Training the MLP across processes with DistributedDataParallel: one process per CUDA device (NCCL), or
`gpus` gloo processes on the CPU, all on 127.0.0.1.

This module is the parent. It cuts the training rows into one contiguous shard per process (from one DeviceData,
across a list of partitions, or as rows each process fetches from a Dask cluster:
pipelines.training.distributed.from_cluster), works out the steps per epoch that every process takes (the full local
batches of the smallest shard: a process with one step more would wait forever for the others), owns the TCPStore the
processes meet at (its port is chosen by the system, so no free port is guessed), starts the processes with
torch.multiprocessing (spawn) and waits for them (pipelines.training.distributed.launch). Each process
(pipelines.training.distributed.rank) trains on its shard; rank 0 scores validation, writes the checkpoints (atomic, as
one process does) and the result.

Each global batch is `gpus` local batches of `batch_size // gpus` rows, one from each shard; DDP averages the
gradients, so a step is the mean over the global batch as in one process. What differs from one process: which
rows share a batch (each process shuffles its own shard), dropout masks (a stream per process), BatchNorm
statistics (per local batch), and the order floats are summed in.

Every wait has a timeout: the rendezvous and every collective wait at most `timeout` seconds. When a process
fails, the others are stopped: an error of the project's (a NonFiniteLoss, a refused checkpoint) is raised here
as the process raised it; a process that died (killed, out of memory) or failed otherwise is TrainingProcessFailed.

Data movement: each process's shard (and rank 0's validation rows) is copied once, into shared host memory on
the CPU, or on CUDA device to device, passed by CUDA IPC handle and moved to the process's own device. Rows on a
Dask cluster are not copied here: each process fetches its own from the workers.
"""

from __future__ import annotations

import itertools
import pickle
import tempfile
from collections.abc import Callable, Sequence, Sized
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from pipelines.cluster.partitions import cut
from pipelines.errors import ConfigError
from pipelines.training.distributed.from_cluster import ClusterRows
from pipelines.training.distributed.launch import TrainingProcessFailed, run_processes
from pipelines.training.distributed.rank import HOST, RESULT, RankJob
from pipelines.training.loop import effective_batch_size, target_scale
from pipelines.training.network import TabularMLP
from pipelines.training.types import DeviceData, TrainConfig, TrainResult

__all__ = ["TrainingProcessFailed", "plan", "shard_rows", "train_mlp_distributed"]


def train_mlp_distributed(
    train: DeviceData | Sequence[DeviceData] | ClusterRows,
    valid: DeviceData,
    cardinalities: list[int],
    task: str,
    config: TrainConfig,
    progress: bool = True,
    checkpoint: Path | None = None,
    on_epoch_end: Callable[[int, float], None] | None = None,
    timeout: float = 300.0,
) -> TrainResult:
    """pipelines.training.train.train_mlp across `config.gpus` processes; `train` is one DeviceData, a list of
    partitions, or rows the processes fetch from a Dask cluster (pipelines.training.distributed.from_cluster). The model
    comes back on the device of `valid`. `on_epoch_end` runs in every process (it must be a module-level function);
    `timeout` bounds every wait of the processes, in seconds."""
    config.check()
    world = config.gpus
    _check_picklable(on_epoch_end)
    shards, scale, width = _shards(train, valid, world, task)
    batch_size, steps = plan(shards, config)
    store = dist.TCPStore(HOST, 0, is_master=True, wait_for_workers=False, timeout=timedelta(seconds=timeout))
    with tempfile.TemporaryDirectory(prefix="devicepipe-ddp-") as folder:
        job = RankJob(
            world_size=world,
            port=store.port,
            timeout=timeout,
            threads=max(1, torch.get_num_threads() // world),
            cardinalities=list(cardinalities),
            task=task,
            config=config,
            batch_size=batch_size,
            steps=steps,
            scale=scale,
            checkpoint=checkpoint,
            folder=Path(folder),
            progress=progress,
            on_epoch_end=on_epoch_end,
        )
        run_processes(job, shards, _joined([valid]))
        document = torch.load(Path(folder) / RESULT, weights_only=True)
    model = TabularMLP.of(width, cardinalities, config)
    model.load_state_dict(document["weights"])
    return TrainResult(
        model=model.to(valid.y.device),
        best_epoch=document["best_epoch"],
        best_metric=document["best_metric"],
        history=document["history"],
        target_mean=scale[0],
        target_std=scale[1],
        resumed_from_epoch=document["resumed_from_epoch"],
        config=config,
    )


def _shards(train: Any, valid: DeviceData, world: int, task: str) -> tuple[list, tuple[float, float], int]:
    """One shard of the training rows per process, the regression target's scale over all of them, and the
    numeric width: cut here, or the shares each process fetches from the cluster's workers itself."""
    if isinstance(train, ClusterRows):
        _check_world(valid.y.device, world)
        return train.shares(_bounds(len(train), world)), train.scale, len(train.columns.numeric_)
    parts = [train] if isinstance(train, DeviceData) else list(train)
    _check_devices(parts, world)
    scale = target_scale(torch.cat([p.y for p in parts]) if len(parts) > 1 else parts[0].y, task)
    return shard_rows(parts, world), scale, parts[0].numeric.shape[1]


def shard_rows(parts: Sequence[DeviceData], world: int) -> list[DeviceData]:
    """`world` contiguous shards of the rows of `parts` taken in order, of sizes that differ by one row at most."""
    bounds = _bounds(sum(len(p) for p in parts), world)
    lengths, shards = [len(p) for p in parts], []
    for lo, hi in itertools.pairwise(bounds):
        pieces = [
            DeviceData(parts[i].numeric[a:b], parts[i].codes[a:b], parts[i].y[a:b]) for i, a, b in cut(lengths, lo, hi)
        ]
        shards.append(_joined(pieces))
    return shards


def _bounds(total: int, world: int) -> list[int]:
    """The first row of each of `world` shards of `total` rows, and `total`."""
    return [round(rank * total / world) for rank in range(world + 1)]


def plan(shards: Sequence[Sized], config: TrainConfig) -> tuple[int, int]:
    """Rows per process per step and steps per epoch: the global batch one process would take over all rows,
    split evenly, and as many steps as the smallest shard has full local batches."""
    total = sum(len(s) for s in shards)
    batch_size = max(2, effective_batch_size(total, config.batch_size) // len(shards))
    steps = min(len(s) for s in shards) // batch_size
    if steps == 0:
        raise ConfigError(
            f"Training across {len(shards)} processes needs at least {batch_size} training rows per process "
            f"(one batch each, as BatchNorm needs 2 rows or more); found {total} rows in all. "
            "Train with fewer processes (gpus) or on more rows."
        )
    return batch_size, steps


def _check_devices(parts: list[DeviceData], world: int) -> None:
    if not parts or not all(len(p.y) == len(p.numeric) == len(p.codes) for p in parts):
        raise ConfigError("Distributed training needs training rows: numeric, codes and target of equal length.")
    _check_world(parts[0].y.device, world)


def _check_world(device: torch.device, world: int) -> None:
    if device.type == "cuda" and world > torch.cuda.device_count():
        raise ConfigError(
            f"Training on {world} GPUs was asked for, but {torch.cuda.device_count()} CUDA devices are visible; "
            "ask for at most that many (gpus), or make more visible (CUDA_VISIBLE_DEVICES)."
        )


def _check_picklable(on_epoch_end: Callable[[int, float], None] | None) -> None:
    try:
        pickle.dumps(on_epoch_end)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ConfigError(
            f"on_epoch_end runs in every training process, so it must be a module-level function; found "
            f"{on_epoch_end!r}, which cannot be sent to a process ({error}). Define it at the top of a module."
        ) from None


def _joined(pieces: list[DeviceData]) -> DeviceData:
    """One copy of the pieces, in memory the processes can share (shared host memory, or CUDA memory)."""
    return DeviceData(*(_shared_cat([getattr(p, name) for p in pieces]) for name in ("numeric", "codes", "y")))


def _shared_cat(tensors: list[torch.Tensor]) -> torch.Tensor:
    first = tensors[0]
    out = torch.empty((sum(t.shape[0] for t in tensors), *first.shape[1:]), dtype=first.dtype, device=first.device)
    if out.device.type == "cpu":
        out.share_memory_()
    return torch.cat(tensors, out=out)
