"""Metrics in torch agree with scikit-learn's, ties in the scores included (CPU tensors)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from pipelines import evaluate

TOL = 1e-6


def _classification(seed: int, decimals: int | None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400).astype(np.float32)
    prob = np.clip(rng.random(400) * 0.6 + y * 0.3, 0.01, 0.99)
    if decimals is not None:
        prob = np.round(prob, decimals)  # heavy ties: at most 10**decimals + 1 distinct scores
    return y, prob.astype(np.float32)


@pytest.mark.parametrize("decimals", [None, 2, 1], ids=["distinct", "rounded-2", "rounded-1"])
@pytest.mark.parametrize("seed", [0, 1])
def test_classification_metrics_match_sklearn(seed, decimals):
    y, prob = _classification(seed, decimals)
    ty, tp = torch.from_numpy(y), torch.from_numpy(prob)
    assert float(evaluate.auc(ty, tp)) == pytest.approx(sk.roc_auc_score(y, prob), abs=TOL)
    assert float(evaluate.logloss(ty, tp)) == pytest.approx(sk.log_loss(y, prob), abs=TOL)
    assert float(evaluate.accuracy(ty, tp)) == pytest.approx(sk.accuracy_score(y, prob >= 0.5), abs=TOL)


def test_auc_with_every_score_tied_is_one_half():
    y = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
    assert float(evaluate.auc(y, torch.full((5,), 0.3))) == pytest.approx(0.5, abs=TOL)


def test_auc_hand_computed_with_ties_and_integer_labels():
    y = torch.tensor([0, 1, 1, 0])
    score = torch.tensor([0.1, 0.9, 0.5, 0.5])
    assert float(evaluate.auc(y, score)) == pytest.approx(0.875, abs=TOL)  # one tied pair counts 1/2
    assert float(evaluate.auc(y, score)) == pytest.approx(sk.roc_auc_score(y.numpy(), score.numpy()), abs=TOL)


def test_accuracy_counts_exactly_one_half_as_positive():
    y = torch.tensor([1.0, 0.0])
    assert float(evaluate.accuracy(y, torch.tensor([0.5, 0.4999]))) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, 300).astype(np.float32)
    pred = (y + rng.normal(0, 1, 300)).astype(np.float32)
    ty, tp = torch.from_numpy(y), torch.from_numpy(pred)
    assert float(evaluate.rmse(ty, tp)) == pytest.approx(math.sqrt(sk.mean_squared_error(y, pred)), abs=TOL)
    assert float(evaluate.mae(ty, tp)) == pytest.approx(sk.mean_absolute_error(y, pred), abs=TOL)
    assert float(evaluate.r2(ty, tp)) == pytest.approx(sk.r2_score(y, pred), abs=TOL)


def test_score_returns_python_floats_per_task():
    y, prob = _classification(0, 1)
    scores = evaluate.score("classification", torch.from_numpy(y), torch.from_numpy(prob))
    assert set(scores) == {"auc", "logloss", "accuracy"}
    assert all(type(v) is float for v in scores.values())
    assert scores["auc"] == pytest.approx(sk.roc_auc_score(y, prob), abs=TOL)
    regression = evaluate.score("regression", torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 4.0]))
    assert regression["mae"] == pytest.approx(1 / 3)
    assert regression["r2"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("metric", "new", "old", "better"),
    [
        ("auc", 0.8, 0.7, True),
        ("auc", 0.7, 0.8, False),
        ("rmse", 1.0, 2.0, True),
        ("logloss", 0.5, 0.4, False),
        ("r2", 0.1, None, True),
    ],
)
def test_is_better_follows_the_metric_direction(metric, new, old, better):
    assert evaluate.is_better(metric, new, old) is better
