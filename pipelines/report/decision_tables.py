"""The decision view's tables and lines (pipelines.report.decision computes them), drawn as markdown in report.md
and as HTML in report.html: the trivial baseline beside the models, the thresholds, the best model's confusion matrix,
the cumulative gains, the regression residuals, and the training profile that scoring measures drift against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.evaluate import HIGHER_IS_BETTER, METRICS, PRIMARY
from pipelines.report.data import ReportData, Table

RULE = "the score cut that maximises F1 on the validation split"
PROFILE_VALUES = 3  # a category column's most frequent values shown


def baseline_row(data: ReportData, names: list[str]) -> list[str]:
    """The baseline's test metrics, as a row of the metrics table (no fit time)."""
    scores = data.decision.baseline_scores.get("test", {})
    return [
        f"trivial baseline ({data.decision.baseline})",
        *(f"{scores[n]:.4f}" if n in scores else "" for n in names),
        "",
    ]


def baseline_line(data: ReportData) -> str:
    """How much better than the baseline the best model is, on the test split, metric by metric."""
    best, decision = data.metrics["best_model"], data.decision
    model, baseline = data.metrics["models"][best]["test"], decision.baseline_scores.get("test")
    if baseline is None:
        return ""
    parts = []
    for name in METRICS[data.task]:
        gain = model[name] - baseline[name]
        if name in ("accuracy", "auc"):
            change = f"{gain * 100:+.1f} points"
        elif name == "r2":
            change = f"{gain:+.4f}"
        else:
            change = f"{gain / baseline[name]:+.1%}" if baseline[name] else f"{gain:+.4f}"
        better = "better" if (gain > 0) == HIGHER_IS_BETTER[name] and gain != 0 else "not better"
        parts.append(f"{name} {model[name]:.4f} against {baseline[name]:.4f} ({change}, {better})")
    return (
        f"{best} (best on validation) against the trivial baseline ({decision.baseline}) on the test split: "
        + "; ".join(parts)
    )


def threshold_table(data: ReportData) -> Table | None:
    """Per model: its threshold, the validation F1 there, and the test split's precision, recall and flagged rows."""
    found = data.decision.thresholds
    if not found:
        return None
    rows = []
    for name, cut in found.items():
        flagged = int(cut.confusion[:, 1].sum())
        total = int(cut.confusion.sum())
        share = f"{flagged:,} ({flagged / max(total, 1):.1%})"
        rows.append([name, f"{cut.value:.4f}", f"{cut.valid_f1:.3f}", f"{cut.precision:.3f}", f"{cut.recall:.3f}"])
        rows[-1] += [f"{cut.f1:.3f}", share]
    header = ["model", "threshold", "valid F1", "test precision", "test recall", "test F1", "test rows flagged"]
    return header, rows


def confusion_table(data: ReportData) -> Table | None:
    """The best model's confusion matrix on the test split at its threshold, counts and shares of all rows."""
    best = data.metrics["best_model"]
    cut = data.decision.thresholds.get(best)
    if cut is None:
        return None
    classes = data.data["classes"] if len(data.data["classes"]) == 2 else ["negative", "positive"]
    total = max(int(cut.confusion.sum()), 1)
    cells = [[f"{int(n):,} ({n / total:.1%})" for n in row] for row in cut.confusion]
    header = [f"{best} at {cut.value:.4f}", f"predicted {classes[0]}", f"predicted {classes[1]}"]
    return header, [[f"actual {classes[0]}", *cells[0]], [f"actual {classes[1]}", *cells[1]]]


def gains_table(data: ReportData) -> Table | None:
    """For each share of test rows taken from the highest score down: the share of all positives each model's
    ranking finds there, and its lift over taking rows at random."""
    found = data.decision.gains
    if not found:
        return None
    shares = [share for share, _ in next(iter(found.values()))]
    rows = [
        [f"top {share:.0%}", *(f"{dict(g)[share]:.1%} (lift {dict(g)[share] / share:.2f})" for g in found.values())]
        for share in shares
    ]
    return ["rows taken", *(f"{name}: positives found" for name in found)], rows


def residual_table(data: ReportData) -> Table | None:
    """Regression: per model, its mean residual (bias) and the typical and large absolute errors on the test split."""
    if data.task != "regression":
        return None
    rows = []
    for name, p in data.predictions.items():
        residual = data.y_test - p
        errors = np.abs(residual)
        rows.append(
            [name, f"{residual.mean():.4g}", f"{np.median(errors):.4g}", f"{np.quantile(errors, 0.9):.4g}"]
            if len(residual)
            else [name, "", "", ""]
        )
    header = ["model", "mean residual (actual - predicted)", "median absolute error", "90th percentile absolute error"]
    return header, rows


def profile_summary(spec: dict[str, Any]) -> str:
    """A column's training profile in a few words: its deciles, or its most frequent values with their shares."""
    shares = spec["shares"]
    if spec["kind"] == "category":
        top = [f"{value} {share:.1%}" for value, share in zip(spec["values"], shares, strict=False)][:PROFILE_VALUES]
        more = len(spec["values"]) - PROFILE_VALUES
        rest = f", {more} more values" if more > 0 else ""
        other = f", others {shares[-2]:.1%}" if len(shares) >= 2 and shares[-2] > 0 else ""
        return ", ".join(top) + rest + other
    edges = [f"{edge:.4g}" if isinstance(edge, float) else str(edge) for edge in spec["edges"]]
    if not edges:
        return "no values"
    if len(edges) == 1:
        return f"mostly {edges[0]} (every decile edge)"
    if len(edges) == 9:
        return f"deciles p10 {edges[0]}, p50 {edges[4]}, p90 {edges[8]}"
    shown = ", ".join(edges) if len(edges) <= 6 else f"{edges[0]} ... {edges[-1]}"
    return f"{len(edges)} distinct decile edges: {shown}"


def profile_table(data: ReportData) -> Table | None:
    """Each profiled column's kind, training profile and null share (drift on scoring is measured against it)."""
    columns = data.profile.get("columns")
    if not columns:
        return None
    rows = [[name, spec["kind"], profile_summary(spec), f"{spec['shares'][-1]:.1%}"] for name, spec in columns.items()]
    return ["column", "kind", "training profile", "nulls"], rows


def profile_line(data: ReportData) -> str:
    rows, left = data.profile.get("rows", 0), data.profile.get("left_out") or {}
    line = (
        f"The training profile of {len(data.profile.get('columns', {}))} columns, from {rows:,} training rows: "
        "`devicepipe predict` measures drift (PSI) of new rows against it, bin by bin."
    )
    reasons: dict[str, list[str]] = {}
    for name, why in left.items():
        reasons.setdefault(why, []).append(f"`{name}`")
    return line + "".join(f" Not profiled: {', '.join(names)} ({why})." for why, names in reasons.items())


def decision_parts(data: ReportData) -> list[tuple[str, Any]]:
    """The decision section in order, as ("text", line) and ("table", Table) parts."""
    parts: list[tuple[str, Any]] = [("text", baseline_line(data))]
    if (thresholds := threshold_table(data)) is not None:
        parts += [("text", f"Threshold: {RULE}; then each model's counts on the test split."), ("table", thresholds)]
    if (matrix := confusion_table(data)) is not None:
        parts.append(("table", matrix))
    if (found := gains_table(data)) is not None:
        metric = PRIMARY[data.task]
        parts.append(("text", f"Cumulative gains on the test split (the ranking {metric.upper()} measures):"))
        parts.append(("table", found))
    if (residuals := residual_table(data)) is not None:
        parts.append(("table", residuals))
    return [(kind, part) for kind, part in parts if part]
