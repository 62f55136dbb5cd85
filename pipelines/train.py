"""Training the MLP: AdamW, early stopping on the validation metric, bf16 autocast on CUDA, a progress bar.

Batches come from `DeviceLoader` over tensors that already live on the training device.
"""

from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from pipelines import evaluate
from pipelines.errors import DataError
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
    epochs: int = 6  # the one-cycle schedule spans all epochs; early stopping keeps the best
    batch_size: int = 2048
    lr: float = 2e-3
    weight_decay: float = 1e-2
    patience: int = 3
    hidden: tuple[int, ...] = (256, 128)
    dropout: float = 0.3
    max_grad_norm: float = 1.0
    seed: int = 0


@dataclass
class TrainResult:
    model: TabularMLP
    best_epoch: int
    best_metric: float
    history: list[dict[str, float]] = field(default_factory=list)
    target_mean: float = 0.0
    target_std: float = 1.0


class NonFiniteLoss(DataError):
    """The loss became NaN or infinite."""


def train_mlp(
    train: DeviceData,
    valid: DeviceData,
    cardinalities: list[int],
    task: str,
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
) -> TrainResult:
    """Fit a TabularMLP, keeping the weights of the epoch with the best validation metric."""
    torch.manual_seed(config.seed)
    device = train.y.device
    model = TabularMLP(train.numeric.shape[1], cardinalities, config.hidden, config.dropout).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    batch_size = effective_batch_size(len(train), config.batch_size)
    steps = config.epochs * len(DeviceLoader((train.y,), batch_size, drop_last=True))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(steps, 1))
    mean, std = _target_scale(train.y, task)
    loss_fn = nn.BCEWithLogitsLoss() if task == "classification" else nn.MSELoss()
    # drop_last: a last batch of one row would break BatchNorm; the rows it skips differ every epoch.
    loader = DeviceLoader((train.numeric, train.codes, train.y), batch_size, seed=config.seed, drop_last=True)
    metric = evaluate.PRIMARY[task]
    result = TrainResult(model, -1, float("nan"), target_mean=mean, target_std=std)
    best_state, waited, step = None, 0, 0
    bar = tqdm(
        total=steps * batch_size,
        unit="rows",
        unit_scale=True,
        disable=not progress,
        desc="train MLP",
        dynamic_ncols=True,
        mininterval=0.5 if _is_tty() else 10.0,
    )
    for epoch in range(config.epochs):
        model.train()
        loader.set_epoch(epoch)
        started = time.perf_counter()
        for numeric, codes, y in loader:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                output = model(numeric, codes)
            loss = loss_fn(output.float(), (y - mean) / std)
            if not torch.isfinite(loss):
                raise NonFiniteLoss(
                    f"The training loss became {float(loss)} at step {step} (epoch {epoch}); "
                    "training stopped. Check the features for extreme values, or lower --lr."
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            schedule.step()
            step += 1
            bar.update(y.shape[0])
        scores = evaluate.score(task, valid.y, predict(model, valid, task, mean, std))
        rate = len(loader) * batch_size / (time.perf_counter() - started)
        result.history.append({"epoch": epoch, "rows_per_second": rate, **{f"valid_{k}": v for k, v in scores.items()}})
        bar.set_postfix({f"valid_{metric}": f"{scores[metric]:.4f}", "epoch": epoch})
        if evaluate.is_better(metric, scores[metric], None if best_state is None else result.best_metric):
            best_state, result.best_epoch, result.best_metric, waited = (
                copy.deepcopy(model.state_dict()),
                epoch,
                scores[metric],
                0,
            )
        else:
            waited += 1
            if waited >= config.patience:
                break
    bar.close()
    model.load_state_dict(best_state)
    return result


@torch.no_grad()
def predict(
    model: TabularMLP, data: DeviceData, task: str, mean: float = 0.0, std: float = 1.0, batch_size: int = 65536
) -> torch.Tensor:
    """Probabilities (classification) or values (regression), on the data's device, in row order."""
    model.eval()
    device = data.y.device
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
