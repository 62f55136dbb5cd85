"""Training the MLP: AdamW, one-cycle schedule, early stopping, bf16 autocast on CUDA, gradient clipping,
a non-finite loss guard, a checkpoint per epoch (atomic) and resume, and a progress bar with rows/s.

Batches come from `DeviceLoader` over tensors that already live on the training device. The loss is
checked for NaN/inf every `check_every` steps (one device sync per check, not per step).
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from pipelines import evaluate
from pipelines.atomic import atomic_path
from pipelines.errors import ConfigError, DataError
from pipelines.loader import DeviceLoader
from pipelines.model import TabularMLP

CHECKPOINT_FORMAT = 1


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
    epochs: int = 6  # the one-cycle schedule spans all epochs; early stopping keeps the best
    batch_size: int = 2048
    lr: float = 2e-3
    weight_decay: float = 1e-2
    patience: int = 3
    hidden: tuple[int, ...] = (256, 128)
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
class _State:
    """What a checkpoint holds besides the model, optimizer, scheduler and scaler."""

    epoch: int = 0  # the next epoch to run
    step: int = 0
    best_epoch: int = -1
    best_metric: float = float("nan")
    best_state: dict[str, torch.Tensor] | None = None
    waited: int = 0
    stopped: bool = False
    history: list[dict[str, float]] = field(default_factory=list)


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
    device = train.y.device
    model = TabularMLP(train.numeric.shape[1], cardinalities, config.hidden, config.dropout, config.norm).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    batch_size = effective_batch_size(len(train), config.batch_size)
    # drop_last: a last batch of one row would break BatchNorm; the rows it skips differ every epoch.
    loader = DeviceLoader((train.numeric, train.codes, train.y), batch_size, seed=config.seed, drop_last=True)
    steps = config.epochs * len(loader)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(steps, 1))
    scaler = torch.amp.GradScaler(device.type, enabled=False)  # bf16 needs no loss scaling; kept for fp16
    mean, std = _target_scale(train.y, task)
    loss_fn = nn.BCEWithLogitsLoss() if task == "classification" else nn.MSELoss()
    metric = evaluate.PRIMARY[task]
    parts = {"model": model, "optimizer": optimizer, "scheduler": schedule, "scaler": scaler}
    state = _State()
    resumed = None
    if checkpoint is not None and Path(checkpoint).exists():
        state = _restore(Path(checkpoint), parts, config, device)
        resumed = state.epoch
    bar = tqdm(
        total=steps * batch_size,
        initial=state.epoch * len(loader) * batch_size,
        unit="rows",
        unit_scale=True,
        disable=not progress,
        desc="train MLP",
        dynamic_ncols=True,
        mininterval=0.5 if _is_tty() else 10.0,
    )
    while state.epoch < config.epochs and not state.stopped:
        epoch = state.epoch
        model.train()
        loader.set_epoch(epoch)
        started = time.perf_counter()
        pending: list[torch.Tensor] = []
        for numeric, codes, y in loader:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                output = model(numeric, codes)
            loss = loss_fn(output.float(), (y - mean) / std)
            pending.append(loss.detach())
            if len(pending) == config.check_every:
                _check_finite(pending, state.step - len(pending) + 1, epoch, checkpoint)
                pending = []
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            state.step += 1
            bar.update(y.shape[0])
        _check_finite(pending, state.step - len(pending), epoch, checkpoint)
        scores = evaluate.score(task, valid.y, predict(model, valid, task, mean, std))
        rate = len(loader) * batch_size / (time.perf_counter() - started)
        state.history.append({"epoch": epoch, "rows_per_second": rate, **{f"valid_{k}": v for k, v in scores.items()}})
        bar.set_postfix({f"valid_{metric}": f"{scores[metric]:.4f}", "epoch": epoch})
        if evaluate.is_better(metric, scores[metric], None if state.best_state is None else state.best_metric):
            state.best_state, state.best_epoch, state.best_metric = (
                copy.deepcopy(model.state_dict()),
                epoch,
                scores[metric],
            )
            state.waited = 0
        else:
            state.waited += 1
            state.stopped = state.waited >= config.patience
        state.epoch += 1
        if checkpoint is not None:
            _save(Path(checkpoint), parts, state, config)
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    bar.close()
    model.load_state_dict(state.best_state)
    return TrainResult(model, state.best_epoch, state.best_metric, state.history, mean, std, resumed, config)


def _check_finite(losses: list[torch.Tensor], first_step: int, epoch: int, checkpoint: Path | None) -> None:
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


def _save(path: Path, parts: dict[str, Any], state: _State, config: TrainConfig) -> None:
    document = {
        "format": CHECKPOINT_FORMAT,
        "config": _plain_config(config),
        **{name: part.state_dict() for name, part in parts.items()},
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        **{k: v for k, v in asdict(state).items() if k != "best_state"},
        "best_state": state.best_state,
    }
    with atomic_path(path) as tmp:
        torch.save(document, tmp)


def _restore(path: Path, parts: dict[str, Any], config: TrainConfig, device: torch.device) -> _State:
    document = torch.load(path, map_location=device, weights_only=True)
    if document.get("format") != CHECKPOINT_FORMAT or document.get("config") != _plain_config(config):
        raise ConfigError(
            f"The checkpoint {path} was written with other training settings ({document.get('config')}); "
            "resume with the same settings, or start a new run."
        )
    for name, part in parts.items():
        part.load_state_dict(document[name])
    torch.set_rng_state(document["rng_cpu"].cpu())
    if document["rng_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in document["rng_cuda"]])
    fields = {k: document[k] for k in _State.__dataclass_fields__}
    return _State(**fields)


def _plain_config(config: TrainConfig) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


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
    """The configured batch size, made smaller for small tables so every epoch has at least 16 steps."""
    return max(2, min(batch_size, rows // 16))


def _is_tty() -> bool:
    return sys.stderr.isatty()


def _target_scale(y: torch.Tensor, task: str) -> tuple[float, float]:
    if task == "classification":
        return 0.0, 1.0
    std = float(y.std())
    return float(y.mean()), std if std > 0 else 1.0
