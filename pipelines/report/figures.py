"""The report's figures, drawn with matplotlib on host arrays and returned as PNG bytes.

Figures are built with matplotlib's object API (`matplotlib.figure.Figure`, rendered by the Agg canvas), never
pyplot: no global state, no window, safe in a worker thread. Inputs are NumPy arrays that the report brought to
the host after training (pipelines.report.data); nothing here knows about backends. Curves come from
scikit-learn's metrics; scatter plots draw a seeded sample of at most SCATTER_POINTS points.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

# A column name in a script the figures' font lacks (CJK, emoji) is drawn as boxes; the report's tables beside the
# figures show it whole, so matplotlib's warning for each missing glyph is not shown.
warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)

SCATTER_POINTS = 4000
BINS = 10
DPI = 100


# Room around the axes in inches (left, right, bottom, top), fixed: matplotlib's constrained layout measures every
# label to place the axes, which took about half of the report's drawing time. Bars get a left margin to fit their
# longest label; a title over several panels gets SUPTITLE more on top; panels are PANEL_GAP apart.
MARGINS = (0.75, 0.2, 0.6, 0.4)
SUPTITLE = 0.3
PANEL_GAP = 0.75
CHAR_WIDTH = 0.075  # inches per character of a tick label at matplotlib's default 10 pt


@contextmanager
def _figure(
    width: float = 5.6, height: float = 4.2, columns: int = 1, left: float = MARGINS[0], suptitle: bool = False
) -> Iterator[tuple[Figure, list[Any]]]:
    """A figure of `columns` panels, each `width` x `height` inches, with fixed margins."""
    total = width * columns
    figure = Figure(figsize=(total, height), dpi=DPI)
    top = MARGINS[3] + (SUPTITLE if suptitle else 0.0)
    panel = (total - left - MARGINS[1] - PANEL_GAP * (columns - 1)) / columns
    figure.subplots_adjust(
        left=left / total,
        right=1 - MARGINS[1] / total,
        bottom=MARGINS[2] / height,
        top=1 - top / height,
        wspace=PANEL_GAP / panel,
    )
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
            precision, recall, _ = precision_recall_curve(y, p, drop_intermediate=True)
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
    with _figure(4.2, 3.8, columns=len(predictions), suptitle=True) as (figure, axes):
        for ax, (name, p) in zip(axes, predictions.items(), strict=True):
            ax.scatter(p[keep], (y - p)[keep], s=4, alpha=0.35)
            ax.axhline(0, color="grey", linestyle=":")
            ax.set(xlabel="predicted", ylabel="actual - predicted", title=labels[name])
        figure.suptitle(f"Residuals (test split, {len(keep):,} of {len(y):,} rows)")
        return _png(figure)


def predicted_vs_actual(y: np.ndarray, predictions: dict[str, np.ndarray], labels: dict[str, str]) -> bytes:
    keep = _scatter_sample(len(y))
    low, high = float(np.min(y)), float(np.max(y))
    with _figure(4.2, 3.8, columns=len(predictions), suptitle=True) as (figure, axes):
        for ax, (name, p) in zip(axes, predictions.items(), strict=True):
            ax.scatter(y[keep], p[keep], s=4, alpha=0.35)
            ax.plot([low, high], [low, high], color="grey", linestyle=":")
            ax.set(xlabel="actual", ylabel="predicted", title=labels[name])
        figure.suptitle(f"Predicted vs actual (test split, {len(keep):,} of {len(y):,} rows)")
        return _png(figure)


def learning_curve(name: str, history: list[dict[str, Any]]) -> bytes:
    """Per epoch: the mean training loss (beside the validation logloss, the same measure, for a classifier), then
    every other validation metric, one panel each."""
    epochs = [row["epoch"] for row in history]
    metrics = [key for key in history[0] if key.startswith("valid_") and key != "valid_logloss"]
    losses = [key for key in ("train_loss", "valid_logloss") if key in history[0]]
    panels = ([losses] if losses else []) + [[metric] for metric in metrics]
    with _figure(3.6, 3.2, columns=len(panels), suptitle=True) as (figure, axes):
        for ax, keys in zip(axes, panels, strict=True):
            for key in keys:
                ax.plot(epochs, [row[key] for row in history], marker="o", label=key.replace("_", " "))
            ax.set(xlabel="epoch", title="loss" if keys == losses else keys[0].replace("_", " "))
            if len(keys) > 1:
                ax.legend(loc="best", fontsize=8)
            ax.set_xticks(epochs)
        figure.suptitle(f"{name} learning curve")
        return _png(figure)


def gains(y: np.ndarray, curves: dict[str, tuple[np.ndarray, np.ndarray]], labels: dict[str, str]) -> bytes:
    """Cumulative gains: per model, the share of all positives among the top share of rows by its score; the
    diagonal is taking rows at random, the upper line a perfect ranking."""
    positive = float(np.mean(y > 0.5)) if len(y) else 0.0
    with _figure(5.6, 4.2) as (figure, (axes,)):
        for name, (taken, captured) in curves.items():
            step = max(len(taken) // 500, 1)  # a few hundred points draw the same line
            axes.plot(np.r_[0, taken[::step], 1], np.r_[0, captured[::step], 1], label=labels[name])
        axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
        if positive > 0:
            axes.plot([0, positive, 1], [0, 1, 1], color="grey", linestyle="--", label="perfect")
        axes.set(xlabel="share of test rows, highest score first", ylabel="share of all positives found")
        axes.set(title=f"Cumulative gains (test split, {len(y):,} rows)")
        axes.legend(loc="lower right", fontsize=8)
        return _png(figure)


def bars(title: str, values: dict[str, float], xlabel: str, top: int = 20, ordered: bool = False) -> bytes:
    """Horizontal bars from the top down: the `top` largest (importance per feature), or all in the given order
    (`ordered`: seconds per stage)."""
    items = list(values.items()) if ordered else sorted(values.items(), key=lambda item: item[1], reverse=True)[:top]
    left = 0.3 + CHAR_WIDTH * max((len(str(k)) for k, _ in items), default=1)
    with _figure(max(6.4, left + 3.5), 1.1 + 0.28 * max(len(items), 1), left=left) as (figure, (axes,)):
        axes.barh([k for k, _ in reversed(items)], [v for _, v in reversed(items)])
        axes.set(xlabel=xlabel, title=title)
        return _png(figure)


def search_history(values: list[float | None], pruned: list[bool], metric: str, higher_is_better: bool) -> bytes:
    """A tuning study's trials in order: each completed trial's value, the pruned ones' last report (hollow), and
    the best value so far as a step line."""
    with _figure(7.2, 3.8) as (figure, (axes,)):
        done = [(i, v) for i, (v, p) in enumerate(zip(values, pruned, strict=True)) if v is not None and not p]
        cut = [(i, v) for i, (v, p) in enumerate(zip(values, pruned, strict=True)) if v is not None and p]
        if cut:
            axes.scatter(*zip(*cut, strict=True), facecolors="none", edgecolors="0.6", label="pruned (last report)")
        if done:
            axes.scatter(*zip(*done, strict=True), label="completed")
            pick = max if higher_is_better else min
            best = [pick(v for _, v in done[: k + 1]) for k in range(len(done))]
            axes.step([i for i, _ in done], best, where="post", color="C3", label="best so far")
        axes.set(xlabel="trial", ylabel=f"validation {metric}", title="Search history")
        axes.legend(loc="best", fontsize=8)
        return _png(figure)


def parallel_settings(rows: list[dict[str, float]], values: list[float], metric: str) -> bytes:
    """Each completed trial as a line across its numeric settings (each scaled to its own range: its low end at 0,
    high end at 1), coloured by its validation metric."""
    names = sorted({name for row in rows for name in row})
    longest = CHAR_WIDTH * 0.8 * max((len(n) for n in names), default=1)  # the names at 8 pt, turned 30 degrees
    height = 3.4 + 0.5 * longest
    with _figure(max(6.4, 1.3 * len(names)), height, left=max(MARGINS[0], 0.87 * longest)) as (figure, (axes,)):
        figure.subplots_adjust(bottom=(MARGINS[2] + 0.5 * longest) / height)
        low = {n: min(r[n] for r in rows if n in r) for n in names}
        span = {n: (max(r[n] for r in rows if n in r) - low[n]) or 1.0 for n in names}
        order = np.argsort(values)
        scale = axes.scatter([], [], c=[], cmap="viridis", vmin=min(values), vmax=max(values))
        colours = figure.colorbar(scale, ax=axes)
        colours.set_label(f"validation {metric}")
        for k in order:
            scaled = [(rows[k][n] - low[n]) / span[n] if n in rows[k] else np.nan for n in names]
            axes.plot(range(len(names)), scaled, color=colours.cmap(colours.norm(values[k])), alpha=0.7)
        axes.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        axes.set(ylabel="scaled setting (low to high)", title="Settings of each trial")
        return _png(figure)
