"""The report's figures, drawn with matplotlib on host arrays and returned as PNG bytes.

Figures are built with matplotlib's object API (`matplotlib.figure.Figure`, rendered by the Agg canvas), never
pyplot: no global state, no window, safe in a worker thread. Inputs are NumPy arrays that the report brought to
the host after training (pipelines.report.data); nothing here knows about backends. Curves come from
scikit-learn's metrics; scatter plots draw a seeded sample of at most SCATTER_POINTS points.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve, root_mean_squared_error

SCATTER_POINTS = 4000
BINS = 10
DPI = 100


def curve_labels(task: str, y: np.ndarray, predictions: dict[str, np.ndarray]) -> dict[str, str]:
    """Each model's legend label with its test metric recomputed from the predictions (AUC or RMSE)."""
    if task == "classification":
        return {name: f"{name} (AUC {roc_auc_score(y, p):.4f})" for name, p in predictions.items()}
    return {name: f"{name} (RMSE {root_mean_squared_error(y, p):.4f})" for name, p in predictions.items()}


@contextmanager
def _figure(width: float = 5.6, height: float = 4.2, columns: int = 1) -> Iterator[tuple[Figure, list[Any]]]:
    figure = Figure(figsize=(width * columns if columns > 1 else width, height), dpi=DPI, layout="constrained")
    axes = [figure.add_subplot(1, columns, i + 1) for i in range(columns)]
    yield figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def roc(y: np.ndarray, predictions: dict[str, np.ndarray], labels: dict[str, str]) -> bytes:
    with _figure() as (figure, (axes,)):
        for name, p in predictions.items():
            fpr, tpr, _ = roc_curve(y, p)
            axes.plot(fpr, tpr, label=labels[name])
        axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
        axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve (test split)")
        axes.legend(loc="lower right")
        return _png(figure)


def precision_recall(y: np.ndarray, predictions: dict[str, np.ndarray], labels: dict[str, str]) -> bytes:
    with _figure() as (figure, (axes,)):
        for name, p in predictions.items():
            precision, recall, _ = precision_recall_curve(y, p)
            axes.plot(recall, precision, label=labels[name], drawstyle="steps-post")
        axes.axhline(float(np.mean(y)), color="grey", linestyle=":", label="positive share")
        axes.set(xlabel="recall", ylabel="precision", title="Precision-recall (test split)", ylim=(0, 1.02))
        axes.legend(loc="lower left")
        return _png(figure)


def calibration(task: str, y: np.ndarray, predictions: dict[str, np.ndarray], labels: dict[str, str]) -> bytes:
    """Classification: observed positive share per bin of predicted probability. Regression: mean actual value per
    bin of predicted value. Bins hold equal numbers of rows (quantiles); the diagonal is perfect calibration."""
    with _figure() as (figure, (axes,)):
        for name, p in predictions.items():
            if task == "classification":
                observed, predicted = calibration_curve(y, p, n_bins=BINS, strategy="quantile")
            else:
                predicted, observed = _binned_means(p, y)
            axes.plot(predicted, observed, marker="o", label=labels[name])
        low, high = axes.get_xlim()
        axes.plot([low, high], [low, high], color="grey", linestyle=":", label="perfectly calibrated")
        what = "probability" if task == "classification" else "value"
        observed_label = "observed positive share" if task == "classification" else "mean actual value"
        axes.set(xlabel=f"mean predicted {what} (bin)", ylabel=observed_label, title="Calibration (test split)")
        axes.legend(loc="upper left")
        return _png(figure)


def _binned_means(predicted: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    edges = np.unique(np.quantile(predicted, np.linspace(0, 1, BINS + 1)))
    bins = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, max(len(edges) - 2, 0))
    used = np.unique(bins)
    return (
        np.array([predicted[bins == b].mean() for b in used]),
        np.array([actual[bins == b].mean() for b in used]),
    )


def _scatter_sample(rows: int, seed: int = 0) -> np.ndarray:
    if rows <= SCATTER_POINTS:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, SCATTER_POINTS, replace=False))


def residuals(y: np.ndarray, predictions: dict[str, np.ndarray], labels: dict[str, str]) -> bytes:
    keep = _scatter_sample(len(y))
    with _figure(4.2, 3.8, columns=len(predictions)) as (figure, axes):
        for ax, (name, p) in zip(axes, predictions.items(), strict=True):
            ax.scatter(p[keep], (y - p)[keep], s=4, alpha=0.35)
            ax.axhline(0, color="grey", linestyle=":")
            ax.set(xlabel="predicted", ylabel="actual - predicted", title=labels[name])
        figure.suptitle(f"Residuals (test split, {len(keep):,} of {len(y):,} rows)")
        return _png(figure)


def predicted_vs_actual(y: np.ndarray, predictions: dict[str, np.ndarray], labels: dict[str, str]) -> bytes:
    keep = _scatter_sample(len(y))
    low, high = float(np.min(y)), float(np.max(y))
    with _figure(4.2, 3.8, columns=len(predictions)) as (figure, axes):
        for ax, (name, p) in zip(axes, predictions.items(), strict=True):
            ax.scatter(y[keep], p[keep], s=4, alpha=0.35)
            ax.plot([low, high], [low, high], color="grey", linestyle=":")
            ax.set(xlabel="actual", ylabel="predicted", title=labels[name])
        figure.suptitle(f"Predicted vs actual (test split, {len(keep):,} of {len(y):,} rows)")
        return _png(figure)


def learning_curve(name: str, history: list[dict[str, Any]]) -> bytes:
    """Every validation metric of the history, one panel each, per epoch."""
    metrics = [key for key in history[0] if key.startswith("valid_")]
    epochs = [row["epoch"] for row in history]
    with _figure(3.6, 3.2, columns=len(metrics)) as (figure, axes):
        for ax, metric in zip(axes, metrics, strict=True):
            ax.plot(epochs, [row[metric] for row in history], marker="o")
            ax.set(xlabel="epoch", title=metric.replace("_", " "))
            ax.set_xticks(epochs)
        figure.suptitle(f"{name} learning curve (validation split)")
        return _png(figure)


def bars(title: str, values: dict[str, float], xlabel: str, top: int = 20, ordered: bool = False) -> bytes:
    """Horizontal bars from the top down: the `top` largest (importance per feature), or all in the given order
    (`ordered`: seconds per stage)."""
    items = list(values.items()) if ordered else sorted(values.items(), key=lambda item: item[1], reverse=True)[:top]
    with _figure(6.4, 0.8 + 0.28 * max(len(items), 1)) as (figure, (axes,)):
        axes.barh([k for k, _ in reversed(items)], [v for _, v in reversed(items)])
        axes.set(xlabel=xlabel, title=title)
        return _png(figure)
