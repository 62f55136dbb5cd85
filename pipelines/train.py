"""Training the MLP: AdamW, one-cycle schedule, early stopping, bf16 autocast on CUDA, gradient clipping,
a non-finite loss guard, a checkpoint per epoch (atomic) and resume, and a progress bar with rows/s.

Batches come from `DeviceLoader` over tensors that already live on the training device. The loss is
checked for NaN/inf every `check_every` steps (one device sync per check, not per step). Checkpoints are
written and read by `pipelines.checkpoint`, early stopping is `pipelines.early_stopping.EarlyStopping`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from pipelines import evaluate
from pipelines.checkpoint import Stateful, TrainingState, restore, save
from pipelines.early_stopping import EarlyStopping
from pipelines.errors import ConfigError, DataError
from pipelines.loader import DeviceLoader
from pipelines.model import TabularMLP


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

    def check(self) -> TrainConfig:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, found {self.epochs}.")
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


class NonFiniteLoss(DataError):
    """The loss became NaN or infinite."""


@dataclass
class _Fit:
    """What one training run works with; `parts` are the pieces a checkpoint saves."""

    model: TabularMLP
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    loader: DeviceLoader
    loss_fn: nn.Module
    mean: float  # regression targets are trained as (y - mean) / std
    std: float
    device: torch.device

    @property
    def parts(self) -> dict[str, Stateful]:
        return {"model": self.model, "optimizer": self.optimizer, "scheduler": self.schedule}


def train_mlp(
    train: DeviceData,
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
    checkpoint is resumed from: the result equals an uninterrupted run with the same seed.
    """
    config.check()
    torch.manual_seed(config.seed)
    fit = _setup(train, cardinalities, task, config)
    state = TrainingState(EarlyStopping(evaluate.PRIMARY[task], config.patience))
    resumed = None
    if checkpoint is not None and Path(checkpoint).exists():
        restore(Path(checkpoint), fit.parts, state, config, fit.device)
        resumed = state.epoch
    bar = _progress_bar(config.epochs, fit.loader, state.epoch, progress)
    while state.epoch < config.epochs and not state.early_stopping.stopped:
        epoch = state.epoch
        started = time.perf_counter()
        _train_epoch(fit, state, config, bar, checkpoint)
        value = _validate(fit, valid, task, state, started, bar)
        state.early_stopping.update(epoch, value, fit.model)
        state.epoch += 1
        if checkpoint is not None:
            save(Path(checkpoint), fit.parts, state, config)
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    bar.close()
    best = state.early_stopping
    best.restore_best(fit.model)
    return TrainResult(fit.model, best.best_epoch, best.best_metric, state.history, fit.mean, fit.std, resumed, config)


def _setup(train: DeviceData, cardinalities: list[int], task: str, config: TrainConfig) -> _Fit:
    """Model, optimizer, loader and schedule, built in a fixed order (the model's init draws from the seed)."""
    device = train.y.device
    model = TabularMLP(train.numeric.shape[1], cardinalities, config.hidden, config.dropout, config.norm).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    batch_size = effective_batch_size(len(train), config.batch_size)
    # drop_last: a last batch of one row would break BatchNorm; the rows it skips differ every epoch.
    loader = DeviceLoader((train.numeric, train.codes, train.y), batch_size, seed=config.seed, drop_last=True)
    steps = config.epochs * len(loader)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(steps, 1))
    mean, std = _target_scale(train.y, task)
    loss_fn = nn.BCEWithLogitsLoss() if task == "classification" else nn.MSELoss()
    return _Fit(model, optimizer, schedule, loader, loss_fn, mean, std, device)


def _train_epoch(fit: _Fit, state: TrainingState, config: TrainConfig, bar: tqdm, checkpoint: Path | None) -> None:
    """One pass over the training rows: a step per batch, the loss checked every `check_every` steps."""
    model, device = fit.model, fit.device
    model.train()
    fit.loader.set_epoch(state.epoch)
    pending: list[torch.Tensor] = []
    for numeric, codes, y in fit.loader:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            output = model(numeric, codes)
        loss = fit.loss_fn(output.float(), (y - fit.mean) / fit.std)
        pending.append(loss.detach())
        if len(pending) == config.check_every:
            _check_finite(pending, state.step - len(pending) + 1, state.epoch, checkpoint)
            pending = []
        fit.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        fit.optimizer.step()
        fit.schedule.step()
        state.step += 1
        bar.update(y.shape[0])
    _check_finite(pending, state.step - len(pending), state.epoch, checkpoint)


def _validate(fit: _Fit, valid: DeviceData, task: str, state: TrainingState, started: float, bar: tqdm) -> float:
    """Score the epoch on the validation split into the history and the bar; returns the primary metric."""
    metric, epoch = evaluate.PRIMARY[task], state.epoch
    scores = evaluate.score(task, valid.y, predict(fit.model, valid, task, fit.mean, fit.std))
    seconds = time.perf_counter() - started  # the epoch's steps and its validation
    rate = len(fit.loader) * fit.loader.batch_size / seconds
    row = {"epoch": epoch, "seconds": seconds, "rows_per_second": rate}
    state.history.append({**row, **{f"valid_{k}": v for k, v in scores.items()}})
    bar.set_postfix({f"valid_{metric}": f"{scores[metric]:.4f}", "epoch": epoch})
    return scores[metric]


def _check_finite(losses: list[torch.Tensor], first_step: int, epoch: int, checkpoint: Path | None) -> None:
    """Raise NonFiniteLoss naming the first bad step; one device sync for the list while every loss is finite."""
    if not losses:
        return
    stacked = torch.stack(losses)
    bad = ~torch.isfinite(stacked)
    if bool(bad.any()):
        index = int(bad.nonzero()[0, 0])
        kept = f" The last good checkpoint is kept at {checkpoint}." if checkpoint and Path(checkpoint).exists() else ""
        raise NonFiniteLoss(
            f"The training loss became {float(stacked[index])} at step {first_step + index} (epoch {epoch}); "
            f"training stopped.{kept} Check the features for extreme values, or lower the learning rate."
        )


def _progress_bar(epochs: int, loader: DeviceLoader, first_epoch: int, progress: bool) -> tqdm:
    """Counts training rows (full batches only, as the loader drops the last partial one)."""
    rows_per_epoch = len(loader) * loader.batch_size
    return tqdm(
        total=epochs * rows_per_epoch,
        initial=first_epoch * rows_per_epoch,
        unit="rows",
        unit_scale=True,
        disable=not progress,
        desc="train MLP",
        dynamic_ncols=True,
        mininterval=0.5 if sys.stderr.isatty() else 10.0,
    )


@torch.no_grad()
def predict(
    model: TabularMLP, data: DeviceData, task: str, mean: float = 0.0, std: float = 1.0, batch_size: int = 65536
) -> torch.Tensor:
    """Probabilities (classification) or values (regression), on the data's device, in row order."""
    model.eval()
    device = data.numeric.device
    outputs = []
    for numeric, codes in DeviceLoader((data.numeric, data.codes), batch_size, shuffle=False):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            outputs.append(model(numeric, codes).float())
    raw = torch.cat(outputs)
    return torch.sigmoid(raw) if task == "classification" else raw * std + mean


def effective_batch_size(rows: int, batch_size: int) -> int:
    """The configured batch size, made smaller for small tables so every epoch has at least 16 steps
    (for tables of 32 rows or more); never under 2 rows, which BatchNorm needs."""
    return max(2, min(batch_size, rows // 16))


def _target_scale(y: torch.Tensor, task: str) -> tuple[float, float]:
    """Mean and std that scale a regression target for training (0 and 1 for classification)."""
    if task == "classification":
        return 0.0, 1.0
    std = float(y.std())
    return float(y.mean()), std if std > 0 else 1.0
