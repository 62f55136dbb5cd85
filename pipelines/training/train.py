"""The one place that decides how the MLP trains: in this process, or across processes with
DistributedDataParallel (one per CUDA device, or gloo processes on the CPU) when `TrainConfig.gpus` is above 1 or
the training rows come as partitions (a list, or rows the processes fetch from a Dask cluster)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipelines.training.distributed.trainer import train_mlp_distributed
from pipelines.training.single import train_one_process
from pipelines.training.types import DeviceData, TrainConfig, TrainResult


def train_mlp(
    train: DeviceData | Sequence[DeviceData] | Any,
    valid: DeviceData,
    cardinalities: list[int],
    task: str,
    config: TrainConfig | None = None,
    progress: bool = True,
    checkpoint: Path | None = None,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Fit a TabularMLP, keeping the weights of the epoch with the best validation metric.

    With `checkpoint`, the training state is written there atomically after every epoch, and an existing
    checkpoint is resumed from: the result equals an uninterrupted run with the same seed. `train` is one
    DeviceData, a list of partitions, or the rows of a Dask cluster (pipelines.training.distributed.from_cluster).
    `on_epoch_end(epoch, validation metric)` runs after each epoch (it may raise to stop the training).
    """
    config = (config or TrainConfig()).check()
    if config.gpus > 1 or not isinstance(train, DeviceData):
        return train_mlp_distributed(train, valid, cardinalities, task, config, progress, checkpoint, on_epoch_end)
    return train_one_process(train, valid, cardinalities, task, config, progress, checkpoint, on_epoch_end)
