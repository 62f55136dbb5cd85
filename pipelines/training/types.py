"""The training data and settings every part of the MLP's training shares: one split as device tensors, the
settings a checkpoint is resumed with, and what a fit returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from pipelines.config import check_counts
from pipelines.training.network import TabularMLP


@dataclass(frozen=True)
class DeviceData:
    """One split as device tensors: numeric [rows, n] float32, codes [rows, m] int32, target [rows] float32."""

    numeric: torch.Tensor
    codes: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return self.y.shape[0]


@dataclass(kw_only=True, frozen=True)
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
    embedding_scale: float = 1.0  # each embedding's size: the rule of thumb (network.embedding_dim) times this,
    embedding_max: int = 32  # ... capped at this
    max_grad_norm: float = 1.0
    seed: int = 0
    check_every: int = 50
    gpus: int = 1  # training processes: one per CUDA device (NCCL), or that many gloo processes on the CPU

    def check(self) -> TrainConfig:
        counts = {"--epochs": self.epochs, "--gpus": self.gpus, "patience": self.patience}
        check_counts({**counts, "check_every": self.check_every})
        return self


@dataclass(kw_only=True)
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
