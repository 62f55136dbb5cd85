"""The report's decision view, from host arrays: what a model is worth against the trivial baseline, where to cut
its scores, and what to watch before trusting its numbers.

- Baseline: the constant prediction from the training split alone. Classification: the training share of positives
  as every row's probability (AUC 0.5; accuracy = always the majority class); regression: the training mean.
- Threshold (classification): per model, the score cut that maximises F1 on the validation split (the test split
  never chooses anything), then the confusion matrix, precision and recall at that cut on the test split.
- Cumulative gains: the share of all positives among the top k% of test rows by score, and its lift over random.
- Checks: a split whose positive share (or target mean) differs from training's, and a model whose probabilities
  are miscalibrated on the test split (expected calibration error) or whose predictions are biased (regression).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.metrics import precision_recall_curve

from pipelines import evaluate

GAIN_SHARES = (0.05, 0.1, 0.2, 0.3, 0.5)
CALIBRATION_BINS = 10
MISCALIBRATED = 0.05  # expected calibration error above which a model's probabilities are called miscalibrated
SHIFT_POINTS = 0.02  # a split's positive share this far (and SHIFT_RELATIVE of it) from training's is noted
SHIFT_RELATIVE = 0.1
SHIFT_STD = 0.25  # regression: a split's target mean this many training stds from training's is noted
BIAS_STD = 0.1  # regression: a model whose mean residual is this many test stds from zero is called biased


@dataclass
class Threshold:
    """A model's cut on its score, chosen on the validation split, and what it does on the test split."""

    value: float
    valid_f1: float
    confusion: np.ndarray  # test rows: [[true negatives, false positives], [false negatives, true positives]]

    @property
    def precision(self) -> float:
        predicted = self.confusion[:, 1].sum()
        return float(self.confusion[1, 1] / predicted) if predicted else 0.0

    @property
    def recall(self) -> float:
        actual = self.confusion[1].sum()
        return float(self.confusion[1, 1] / actual) if actual else 0.0

    @property
    def f1(self) -> float:
        both = self.precision + self.recall
        return 2 * self.precision * self.recall / both if both else 0.0


def baseline_name(task: str, train_mean: float, classes: list[str]) -> str:
    if task == "classification":
        majority = classes[1] if train_mean >= 0.5 and len(classes) > 1 else classes[0] if classes else "0"
        return f"always {majority}, training's majority class"
    return f"the training mean, {train_mean:.4g}"


def baseline_scores(task: str, train_mean: float, y: np.ndarray) -> dict[str, float]:
    """Every metric of `task` for the constant prediction from training alone (its positive share as a
    probability, or its target mean) on targets `y`."""
    return evaluate.score(task, torch.from_numpy(y), torch.full((len(y),), train_mean, dtype=torch.float64))


def choose_threshold(valid: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> Threshold:
    """The cut that maximises F1 on the validation split (y, scores), applied to the test split (y, scores)."""
    precision, recall, cuts = precision_recall_curve(valid[0] > 0.5, valid[1])
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    best = int(np.argmax(f1))
    return Threshold(float(cuts[best]), float(f1[best]), confusion(test[0], test[1], float(cuts[best])))


def confusion(y: np.ndarray, scores: np.ndarray, cut: float) -> np.ndarray:
    actual, predicted = y > 0.5, scores >= cut
    return np.array(
        [
            [np.sum(~actual & ~predicted), np.sum(~actual & predicted)],
            [np.sum(actual & ~predicted), np.sum(actual & predicted)],
        ],
        dtype=np.int64,
    )


def gains_curve(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share of rows taken, share of all positives among them), the rows taken from the highest score down."""
    order = np.argsort(-scores, kind="stable")
    positives = (y[order] > 0.5).astype(np.float64)
    captured = np.cumsum(positives) / max(positives.sum(), 1.0)
    return np.arange(1, len(y) + 1) / max(len(y), 1), captured


def gains(y: np.ndarray, scores: np.ndarray, shares: tuple[float, ...] = GAIN_SHARES) -> list[tuple[float, float]]:
    """For each share of rows (highest scores first): the share of all positives they hold."""
    _, captured = gains_curve(y, scores)
    return [(share, float(captured[max(int(np.ceil(share * len(y))) - 1, 0)])) for share in shares if len(y)]


def calibration_error(y: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: over equal-width probability bins, |mean probability - positive share|,
    weighted by the bin's rows."""
    which = np.minimum((probability * bins).astype(np.int64), bins - 1)
    error = 0.0
    for b in np.unique(which):
        inside = which == b
        error += inside.sum() * abs(probability[inside].mean() - (y[inside] > 0.5).mean())
    return float(error / max(len(y), 1))


def shift_notes(task: str, splits: dict[str, dict[str, float]]) -> list[str]:
    """A note per split whose positive share (classification) or target mean (regression) is off training's."""
    train = splits.get("train")
    if train is None:
        return []
    notes = []
    for name, split in splits.items():
        gap = split["mean"] - train["mean"]
        if task == "classification":
            if abs(gap) >= SHIFT_POINTS and abs(gap) >= SHIFT_RELATIVE * max(train["mean"], 1e-12):
                notes.append(
                    f"the {name} split's positive share is {split['mean']:.1%} against {train['mean']:.1%} in "
                    f"training: its accuracy and calibration are read on a different mix, and a threshold chosen "
                    "on it may not carry over"
                )
        elif abs(gap) >= SHIFT_STD * max(train["std"], 1e-12):
            notes.append(
                f"the {name} split's target mean is {split['mean']:.4g} against {train['mean']:.4g} in training "
                f"({gap / max(train['std'], 1e-12):+.2f} training stds)"
            )
    return notes


def model_notes(task: str, y: np.ndarray, predictions: dict[str, np.ndarray]) -> list[str]:
    """A note per model whose test probabilities are miscalibrated, or whose test predictions are biased."""
    notes = []
    for name, p in predictions.items():
        if task == "classification":
            error = calibration_error(y, p)
            if error > MISCALIBRATED:
                notes.append(
                    f"{name} is miscalibrated on the test split (expected calibration error {error:.3f}: mean "
                    f"probability {p.mean():.3f} against a positive share of {(y > 0.5).mean():.3f}): rank by its "
                    "scores, but do not read them as chances without recalibrating"
                )
        else:
            bias, spread = float((y - p).mean()), float(y.std())
            if abs(bias) > BIAS_STD * max(spread, 1e-12):
                notes.append(
                    f"{name}'s test predictions are biased: mean residual (actual - predicted) {bias:.4g}, "
                    f"{bias / max(spread, 1e-12):+.2f} target stds"
                )
    return notes


@dataclass(kw_only=True)
class Decision:
    """The decision view of a run: the baseline's scores per split, each model's threshold (classification) and
    cumulative gains on the test split, and the checks' notes."""

    baseline: str
    baseline_scores: dict[str, dict[str, float]]
    thresholds: dict[str, Threshold]
    gains: dict[str, list[tuple[float, float]]]
    notes: list[str]

    def as_metrics(self) -> dict[str, Any]:
        """What metrics.json records of it: the baseline's scores and, per model, its threshold."""
        found = {"trivial_baseline": {"name": self.baseline, **self.baseline_scores}}
        if self.thresholds:
            found["thresholds"] = {
                name: {"value": cut.value, "chosen_by": "max F1 on valid", "valid_f1": cut.valid_f1}
                for name, cut in self.thresholds.items()
            }
        return found


def decide(
    task: str,
    summary: dict[str, Any],
    valid: tuple[np.ndarray, dict[str, np.ndarray]],
    test: tuple[np.ndarray, dict[str, np.ndarray]],
) -> Decision:
    """The decision view from the data summary (pipelines.report.data.data_summary) and the targets and each
    model's predictions on the validation and test splits."""
    train = summary["splits"]["train"]["mean"]
    scored = {"valid": valid[0], "test": test[0]}
    classification = task == "classification"
    thresholds = {
        name: choose_threshold((valid[0], valid[1][name]), (test[0], p))
        for name, p in test[1].items()
        if classification and name in valid[1]
    }
    return Decision(
        baseline=baseline_name(task, train, summary["classes"]),
        baseline_scores={name: baseline_scores(task, train, y) for name, y in scored.items() if len(y)},
        thresholds=thresholds,
        gains={name: gains(test[0], p) for name, p in test[1].items()} if classification else {},
        notes=shift_notes(task, summary["splits"]) + model_notes(task, test[0], test[1]),
    )
