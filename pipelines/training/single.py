"""The MLP trained in one process: AdamW, one-cycle schedule, early stopping, bf16 autocast on CUDA, gradient
clipping, a non-finite loss guard, a checkpoint per epoch (atomic) and resume, and a progress bar with rows/s.

Batches come from `DeviceLoader` over tensors that already live on the training device. The loss is checked for
NaN/inf every `check_every` steps (one device sync per check, not per step). The epochs are
`pipelines.training.loop`; checkpoints are written and read by `pipelines.training.checkpoint`, early stopping is
`pipelines.training.early_stopping`. `build_fit` is shared with the processes of distributed training
(pipelines.training.distributed.rank).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from pipelines import evaluate
from pipelines.training.checkpoint import TrainingState, restore
from pipelines.training.early_stopping import EarlyStopping
from pipelines.training.loader import DeviceLoader
from pipelines.training.loop import ONE_PROCESS, Fit, Group, effective_batch_size, run_epochs, target_scale
from pipelines.training.network import TabularMLP
from pipelines.training.types import DeviceData, TrainConfig, TrainResult


def train_one_process(
    train: DeviceData,
    valid: DeviceData,
    cardinalities: list[int],
    task: str,
    config: TrainConfig,
    progress: bool = True,
    checkpoint: Path | None = None,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """The MLP fitted in this process (pipelines.training.train.train_mlp chooses it): the weights of the epoch
    with the best validation metric. With `checkpoint`, the training state is written there atomically after
    every epoch, and an existing checkpoint is resumed from."""
    torch.manual_seed(config.seed)
    batch_size = effective_batch_size(len(train), config.batch_size)
    fit = build_fit(train, cardinalities, task, config, batch_size, None, target_scale(train.y, task))
    state = TrainingState(EarlyStopping(metric=evaluate.PRIMARY[task], patience=config.patience))
    resumed = None
    if checkpoint is not None and Path(checkpoint).exists():
        restore(Path(checkpoint), fit.parts, state, config, fit.device)
        resumed = state.epoch
    run_epochs(fit, valid, task, config, state, progress, checkpoint, on_epoch_end)
    best = state.early_stopping
    best.restore_best(fit.model)
    return TrainResult(
        model=fit.model,
        best_epoch=best.best_epoch,
        best_metric=best.best_metric,
        history=state.history,
        target_mean=fit.mean,
        target_std=fit.std,
        resumed_from_epoch=resumed,
        config=config,
    )


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
    model = TabularMLP.of(rows.numeric.shape[1], cardinalities, config).to(device)
    # fused: one kernel for every parameter's update (a tenth of a CPU step at 2,048 rows a batch; CUDA too)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    # drop_last: a last batch of one row would break BatchNorm; the rows it skips differ every epoch.
    tensors = (rows.numeric, rows.codes, rows.y)
    loader = DeviceLoader(tensors, batch_size, seed=config.seed, drop_last=True, batches=batches)
    steps = config.epochs * len(loader)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(steps, 1))
    loss_fn = nn.BCEWithLogitsLoss() if task == "classification" else nn.MSELoss()
    mean, std = scale
    return Fit(
        model=model,
        network=wrap(model),
        optimizer=optimizer,
        schedule=schedule,
        loader=loader,
        loss_fn=loss_fn,
        mean=mean,
        std=std,
        device=device,
        group=group,
    )
