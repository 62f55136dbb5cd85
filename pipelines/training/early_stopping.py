"""Early stopping for the MLP trainer: keeps the weights of the epoch with the best validation metric and
says when the metric has not improved for `patience` epochs in a row.

The training loop calls `EarlyStopping.update` once per epoch; `state_dict`/`load_state_dict` let a checkpoint
carry it across a resume.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from pipelines import evaluate


@dataclass(kw_only=True)
class EarlyStopping:
    """The best epoch so far (by `metric`, in the direction `evaluate.HIGHER_IS_BETTER` gives) and its weights."""

    metric: str
    patience: int
    best_epoch: int = -1
    best_metric: float = float("nan")
    best_state: dict[str, torch.Tensor] | None = None
    waited: int = 0  # epochs since the last improvement
    stopped: bool = False

    def update(self, epoch: int, value: float, model: nn.Module) -> bool:
        """Record one epoch's validation `value`; True when it is the best so far (its weights are copied)."""
        if evaluate.is_better(self.metric, value, None if self.best_state is None else self.best_metric):
            self.best_state, self.best_epoch, self.best_metric = copy.deepcopy(model.state_dict()), epoch, value
            self.waited = 0
            return True
        self.waited += 1
        self.stopped = self.waited >= self.patience
        return False

    def restore_best(self, model: nn.Module) -> None:
        """Load the best epoch's weights into `model`."""
        if self.best_state is None:
            raise RuntimeError("EarlyStopping.restore_best before any epoch was recorded.")
        model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps (the metric and patience come from the task and the training settings)."""
        return {
            "best_epoch": self.best_epoch,
            "best_metric": self.best_metric,
            "best_state": self.best_state,
            "waited": self.waited,
            "stopped": self.stopped,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_epoch = state["best_epoch"]
        self.best_metric = state["best_metric"]
        self.best_state = state["best_state"]
        self.waited = state["waited"]
        self.stopped = state["stopped"]
