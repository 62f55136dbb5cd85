"""Metrics computed with torch on the device that holds the predictions (CPU or CUDA).

Classification: auc (rank statistic with tied ranks averaged), logloss, accuracy at 0.5.
Regression: rmse, mae, r2. Only the final scalars leave the device.
"""

from __future__ import annotations

import torch

from pipelines.errors import DataError

EPS = 1e-7
HIGHER_IS_BETTER = {"auc": True, "accuracy": True, "logloss": False, "rmse": False, "mae": False, "r2": True}
PRIMARY = {"classification": "auc", "regression": "rmse"}


def auc(y: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """Area under the ROC curve: the Mann-Whitney U statistic over average ranks (ties share a rank)."""
    y, score = y.double().flatten(), score.double().flatten()
    sorted_scores, order = torch.sort(score)
    _, inverse, counts = torch.unique_consecutive(sorted_scores, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    average_rank = ends - (counts.double() - 1) / 2
    ranks = average_rank[inverse]
    positive = y[order] > 0.5
    n_pos = positive.sum().double()
    n_neg = y.numel() - n_pos
    if float(n_pos) == 0 or float(n_neg) == 0:
        raise DataError(
            f"AUC needs both classes, found only {'positives' if float(n_neg) == 0 else 'negatives'} "
            f"among {y.numel()} rows. The split is too small or the target is constant."
        )
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def logloss(y: torch.Tensor, prob: torch.Tensor) -> torch.Tensor:
    y, p = y.double().flatten(), prob.double().flatten().clamp(EPS, 1 - EPS)
    return -(y * torch.log(p) + (1 - y) * torch.log1p(-p)).mean()


def accuracy(y: torch.Tensor, prob: torch.Tensor) -> torch.Tensor:
    return ((prob.flatten() >= 0.5).double() == y.double().flatten()).double().mean()


def rmse(y: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(((y.double().flatten() - pred.double().flatten()) ** 2).mean())


def mae(y: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    return (y.double().flatten() - pred.double().flatten()).abs().mean()


def r2(y: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    y, pred = y.double().flatten(), pred.double().flatten()
    residual = ((y - pred) ** 2).sum()
    total = ((y - y.mean()) ** 2).sum()
    if float(total) == 0:  # a constant target: 1 for a perfect prediction, else 0 (as scikit-learn)
        return (residual == 0).double()
    return 1 - residual / total


METRICS = {
    "classification": {"auc": auc, "logloss": logloss, "accuracy": accuracy},
    "regression": {"rmse": rmse, "mae": mae, "r2": r2},
}


def score(task: str, y: torch.Tensor, prediction: torch.Tensor) -> dict[str, float]:
    """Every metric of `task` as Python floats (the only values that leave the device)."""
    y = y.to(prediction.device)
    return {name: float(fn(y, prediction)) for name, fn in METRICS[task].items()}


def is_better(metric: str, new: float, old: float | None) -> bool:
    if old is None:
        return True
    return new > old if HIGHER_IS_BETTER[metric] else new < old
