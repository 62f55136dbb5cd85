"""Training the MLP: AdamW, one-cycle schedule, early stopping, bf16 autocast on CUDA, gradient clipping,
a non-finite loss guard, a checkpoint per epoch (atomic) and resume, and a progress bar with rows/s.

Batches come from `DeviceLoader` over tensors that already live on the training device. The loss is
checked for NaN/inf every `check_every` steps (one device sync per check, not per step). The epochs are
`pipelines.train_loop`; checkpoints are written and read by `pipelines.checkpoint`, early stopping is
`pipelines.early_stopping.EarlyStopping`. With `TrainConfig.gpus` above 1, `train_mlp` trains across that many
processes with DistributedDataParallel (`pipelines.distributed`): one per CUDA device, or gloo processes on CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from pipelines import evaluate
from pipelines.checkpoint import TrainingState, restore
from pipelines.early_stopping import EarlyStopping
from pipelines.errors import ConfigError
from pipelines.loader import DeviceLoader
from pipelines.model import TabularMLP
from pipelines.train_loop import (
    ONE_PROCESS,
    Fit,
    Group,
    NonFiniteLoss,
    effective_batch_size,
    predict,
    run_epochs,
    target_scale,
)

__all__ = [
    "DeviceData",
    "NonFiniteLoss",
    "TrainConfig",
    "TrainResult",
    "build_fit",
    "effective_batch_size",
    "predict",
    "train_mlp",
]


@dataclass(frozen=True)
class DeviceData:
    """One split as device tensors: numeric [rows, n] float32, codes [rows, m] int32, target [rows] float32."""

    numeric: torch.Tensor
    codes: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return self.y.shape[0]


@dataclass(frozen=True)
class TrainConfig:
    """The training settings; a checkpoint is resumed only with the settings it was written with."""

    epochs: int = 3  # the one-cycle schedule spans all epochs; early stopping keeps the best
    batch_size: int = 2048
    lr: float = 2e-3
    weight_decay: float = 1e-2
    patience: int = 3
    hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.3
    norm: str = "batch"
    max_grad_norm: float = 1.0
    seed: int = 0
    check_every: int = 50
    gpus: int = 1  # training processes: one per CUDA device (NCCL), or that many gloo processes on the CPU

    def check(self) -> TrainConfig:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, found {self.epochs}.")
        if self.gpus < 1:
            raise ConfigError(f"gpus (training processes) must be at least 1, found {self.gpus}.")
        if self.patience < 1 or self.check_every < 1:
            raise ConfigError(f"patience and check_every must be at least 1: {self.patience}, {self.check_every}.")
        return self


@dataclass
class TrainResult:
    """The model with the best epoch's weights, that epoch's metric, and what predicting with it needs."""

    model: TabularMLP
    best_epoch: int
    best_metric: float
    history: list[dict[str, float]] = field(default_factory=list)
    target_mean: float = 0.0
    target_std: float = 1.0
    resumed_from_epoch: int | None = None
    config: TrainConfig = field(default_factory=TrainConfig)


def train_mlp(
    train: DeviceData | Sequence[DeviceData],
    valid: DeviceData,
    cardinalities: list[int],
    task: str,
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
    checkpoint: Path | None = None,
    on_epoch_end: Callable[[int], None] | None = None,
) -> TrainResult:
    """Fit a TabularMLP, keeping the weights of the epoch with the best validation metric.

    With `checkpoint`, the training state is written there atomically after every epoch, and an existing
    checkpoint is resumed from: the result equals an uninterrupted run with the same seed. With `config.gpus`
    above 1 (or `train` given as a list of partitions), training runs across processes:
    `pipelines.distributed.train_mlp_distributed`.
    """
    config.check()
    if config.gpus > 1 or not isinstance(train, DeviceData):
        from pipelines.distributed import train_mlp_distributed  # it builds on this module

        return train_mlp_distributed(train, valid, cardinalities, task, config, progress, checkpoint, on_epoch_end)
    torch.manual_seed(config.seed)
    batch_size = effective_batch_size(len(train), config.batch_size)
    fit = build_fit(train, cardinalities, task, config, batch_size, None, target_scale(train.y, task))
    state = TrainingState(EarlyStopping(evaluate.PRIMARY[task], config.patience))
    resumed = None
    if checkpoint is not None and Path(checkpoint).exists():
        restore(Path(checkpoint), fit.parts, state, config, fit.device)
        resumed = state.epoch
    run_epochs(fit, valid, task, config, state, progress, checkpoint, on_epoch_end)
    best = state.early_stopping
    best.restore_best(fit.model)
    return TrainResult(fit.model, best.best_epoch, best.best_metric, state.history, fit.mean, fit.std, resumed, config)


def build_fit(
    rows: DeviceData,
    cardinalities: list[int],
    task: str,
    config: TrainConfig,
    batch_size: int,
    batches: int | None,
    scale: tuple[float, float],
    wrap: Callable[[nn.Module], nn.Module] = lambda model: model,
    group: Group = ONE_PROCESS,
) -> Fit:
    """Model, optimizer, loader and schedule over this process's `rows`, built in a fixed order (the model's
    init draws from the seed). `batches`: the steps per epoch every process takes (None: all full batches);
    `scale`: the regression target's mean and std over all training rows; `wrap`: the model as the steps run it."""
    device = rows.y.device
    model = TabularMLP(rows.numeric.shape[1], cardinalities, config.hidden, config.dropout, config.norm).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    # drop_last: a last batch of one row would break BatchNorm; the rows it skips differ every epoch.
    tensors = (rows.numeric, rows.codes, rows.y)
    loader = DeviceLoader(tensors, batch_size, seed=config.seed, drop_last=True, batches=batches)
    steps = config.epochs * len(loader)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(steps, 1))
    loss_fn = nn.BCEWithLogitsLoss() if task == "classification" else nn.MSELoss()
    return Fit(model, wrap(model), optimizer, schedule, loader, loss_fn, *scale, device, group)
