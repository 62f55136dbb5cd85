"""The epochs of MLP training, shared by the one-process trainer (pipelines.training.single) and each process of the
distributed one (pipelines.training.distributed.rank): the optimizer steps of an epoch, the validation pass, the
non-finite loss guard, the per-epoch checkpoint, and the progress bar with rows/s.

What differs between the two is a `Group`: one process (`ONE_PROCESS`) scores validation itself and keeps its
own random state; in a process group, the lead process (rank 0) scores validation and every process takes its
value (so early stopping agrees everywhere), and the checkpoint holds every process's random state and is
complete before any process goes on. Backends:
any torch device (CPU, CUDA).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from tqdm import tqdm as terminal_tqdm

from pipelines import evaluate
from pipelines.errors import DataError
from pipelines.training.checkpoint import Stateful, TrainingState, rng_states, save
from pipelines.training.loader import DeviceLoader
from pipelines.training.network import TabularMLP
from pipelines.training.types import DeviceData, TrainConfig

# A notebook's progress bar is a widget where ipywidgets is installed (the notebooks extra); elsewhere the text bar,
# as tqdm.auto would fall back to after a warning ("IProgress not found") in the notebook's first output.
if importlib.util.find_spec("ipywidgets") is not None:
    from tqdm.auto import tqdm
else:
    tqdm = terminal_tqdm


class NonFiniteLoss(DataError):
    """The loss became NaN or infinite."""


class Group(Protocol):
    """The processes one training run spans: who leads, how they agree on a value, their random states."""

    lead: bool  # scores validation, writes checkpoints, shows the progress bar
    size: int

    def agree(self, value: float) -> float: ...

    def checkpoint(self, write: Callable[[list[dict[str, Any]]], None]) -> None:
        """Call `write` with every process's random states on the lead; return when it has written."""


class _OneProcess:
    lead, size = True, 1

    def agree(self, value: float) -> float:
        return value

    def checkpoint(self, write: Callable[[list[dict[str, Any]]], None]) -> None:
        write([rng_states()])


ONE_PROCESS: Group = _OneProcess()


@dataclass(kw_only=True)
class Fit:
    """What one training process works with; `parts` are the pieces a checkpoint saves. `network` is what the
    steps run (the model, or the model wrapped for a process group); `model` is the plain TabularMLP."""

    model: TabularMLP
    network: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    loader: DeviceLoader
    loss_fn: nn.Module
    mean: float  # regression targets are trained as (y - mean) / std
    std: float
    device: torch.device
    group: Group = ONE_PROCESS

    @property
    def parts(self) -> dict[str, Stateful]:
        return {"model": self.model, "optimizer": self.optimizer, "scheduler": self.schedule}

    @property
    def rows_per_epoch(self) -> int:
        """Training rows per epoch over every process (full batches only: the loaders drop the rest)."""
        return len(self.loader) * self.loader.batch_size * self.group.size


def run_epochs(
    fit: Fit,
    valid: DeviceData,
    task: str,
    config: TrainConfig,
    state: TrainingState,
    progress: bool,
    checkpoint: Path | None,
    on_epoch_end: Callable[[int, float], None] | None,
) -> None:
    """Train until the last epoch or early stopping; a checkpoint (written by the lead) after every epoch."""
    bar = _progress_bar(config.epochs, fit.rows_per_epoch, state.epoch, progress and fit.group.lead)
    while state.epoch < config.epochs and not state.early_stopping.stopped:
        epoch = state.epoch
        started = time.perf_counter()
        loss = _train_epoch(fit, state, config, bar, checkpoint)
        value = _validate(fit, valid, task, state, (started, loss), bar) if fit.group.lead else float("nan")
        agreed = fit.group.agree(value)
        state.early_stopping.update(epoch, agreed, fit.model)
        state.epoch += 1
        if checkpoint is not None:
            fit.group.checkpoint(lambda rng: save(Path(checkpoint), fit.parts, state, config, rng))
        if on_epoch_end is not None:
            on_epoch_end(epoch, agreed)
    bar.close()


def _train_epoch(
    fit: Fit, state: TrainingState, config: TrainConfig, bar: tqdm, checkpoint: Path | None
) -> torch.Tensor:
    """One pass over the training rows: a step per batch, the loss checked every `check_every` steps. Returns the
    epoch's mean training loss, still on the device (read once, with the validation)."""
    network, device = fit.network, fit.device
    network.train()
    fit.loader.set_epoch(state.epoch)
    pending: list[torch.Tensor] = []
    total, steps = torch.zeros((), device=device), 0
    for numeric, codes, y in fit.loader:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            output = network(numeric, codes)
        loss = fit.loss_fn(output.float(), (y - fit.mean) / fit.std)
        pending.append(loss.detach())
        total += loss.detach()
        steps += 1
        if len(pending) == config.check_every:
            _check_finite(pending, state.step - len(pending) + 1, state.epoch, checkpoint)
            pending = []
        fit.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(fit.model.parameters(), config.max_grad_norm)
        fit.optimizer.step()
        fit.schedule.step()
        state.step += 1
        bar.update(y.shape[0] * fit.group.size)
    _check_finite(pending, state.step - len(pending), state.epoch, checkpoint)
    return total / max(steps, 1)


def _validate(
    fit: Fit, valid: DeviceData, task: str, state: TrainingState, epoch_run: tuple[float, torch.Tensor], bar: tqdm
) -> float:
    """Score the epoch on the validation split into the history (beside the epoch's mean training loss: the lead
    process's batches) and the bar; returns the primary metric. `epoch_run`: when the epoch started, its loss."""
    metric, epoch = evaluate.PRIMARY[task], state.epoch
    scores = evaluate.score(task, valid.y, predict(fit.model, valid, task, fit.mean, fit.std))
    seconds = time.perf_counter() - epoch_run[0]  # the epoch's steps and its validation
    row = {"epoch": epoch, "seconds": seconds, "rows_per_second": fit.rows_per_epoch / seconds}
    row["train_loss"] = float(epoch_run[1])
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


def _progress_bar(epochs: int, rows_per_epoch: int, first_epoch: int, progress: bool) -> tqdm:
    """Counts training rows (full batches only, as the loaders drop the last partial one)."""
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


def target_scale(y: torch.Tensor, task: str) -> tuple[float, float]:
    """Mean and std that scale a regression target for training (0 and 1 for classification)."""
    if task == "classification":
        return 0.0, 1.0
    std = float(y.std())
    return float(y.mean()), std if std > 0 else 1.0
