"""Drift on scoring: a profile of the training rows, kept in the bundle, and the population stability index (PSI)
of new rows and of their predictions against it.

The profile is taken from (at most PROFILE_ROWS of) the training split's rows as the recipe prepared them, before
any feature op: for a number or a time, the bin shares between its training deciles; for anything else, the
shares of its TOP most frequent values and of all the others; for every column, the share of nulls (its own bin).
Predictions are profiled the same way, per model, on the test split. New rows are binned with the same edges and

    PSI = sum over bins of (new share - training share) * ln(new share / training share)

with each share floored at FLOOR. Conventions: below WARN (0.1) stable, from WARN a moderate shift, from ALERT
(0.25) a shift worth acting on; both are settable. Everything is computed with the frame API that pandas and cuDF
share: only the small tables of shares leave the device.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from pipelines.data.profile import BINS, PROFILE_ROWS, profile_frame, shares
from pipelines.errors import ConfigError, DevicepipeError

__all__ = ["PROFILE_ROWS", "DriftAlert", "measure", "profile_frame", "profile_scores", "psi"]

FLOOR = 1e-4
WARN, ALERT = 0.1, 0.25
SHOWN = 3  # the columns the one-line summary names, worst first
NULL, OTHER = "(null)", "(other)"


class DriftAlert(DevicepipeError):
    """New rows (or their predictions) moved past the alert threshold, and the caller asked to fail on it."""

    exit_code = 3


def profile_scores(scores: torch.Tensor) -> dict[str, Any]:
    """A model's predictions on the test split, binned between their deciles."""
    values = scores.detach().float().flatten()
    levels = torch.linspace(0, 1, BINS + 1, device=values.device)[1:-1]
    edges = sorted(set(torch.quantile(values, levels).cpu().tolist()))
    return {"kind": "numeric", "edges": edges, "shares": _tensor_shares(values, edges)}


def psi(expected: list[float], actual: list[float]) -> float:
    """The population stability index of `actual` bin shares against `expected` ones (same bins)."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, FLOOR), max(a, FLOOR)
        total += (a - e) * math.log(a / e)
    return total


def measure(
    profile: dict[str, Any], frame: Any, scores: dict[str, torch.Tensor], warn: float = WARN, alert: float = ALERT
) -> dict[str, Any]:
    """PSI per profiled column of `frame` and per model in `scores`, each with its level (ok, warn, alert);
    the columns and models that moved, worst first; the profiled columns `frame` lacks."""
    check_thresholds(warn, alert)
    columns = {
        column: _entry(psi(spec["shares"], shares(frame[column], spec)), warn, alert)
        for column, spec in profile["columns"].items()
        if column in frame.columns
    }
    predictions = {
        name: _entry(psi(profile["predictions"][name]["shares"], _tensor_shares(values, edges)), warn, alert)
        for name, values in scores.items()
        if name in profile["predictions"]
        for edges in [profile["predictions"][name]["edges"]]
    }
    every = {**columns, **{f"prediction:{name}": entry for name, entry in predictions.items()}}
    moved = sorted((name for name, e in every.items() if e["level"] != "ok"), key=lambda n: -every[n]["psi"])
    return {
        "thresholds": {"warn": warn, "alert": alert},
        "rows": len(frame),
        "columns": columns,
        "predictions": predictions,
        "missing_columns": [c for c in profile["columns"] if c not in frame.columns],
        "left_out": profile.get("left_out", {}),  # columns not measured, with the reason
        "moved": moved,
        "alerts": [name for name in moved if every[name]["level"] == "alert"],
    }


def check_thresholds(warn: float, alert: float) -> None:
    """A ConfigError unless 0 < warn <= alert."""
    if not 0 < warn <= alert:
        raise ConfigError(
            f"Drift thresholds must satisfy 0 < --drift-warn <= --drift-alert, found {warn} and {alert}; "
            f"the usual values are {WARN} and {ALERT}."
        )


def summary(report: dict[str, Any], details: str | None = None, shown: int = SHOWN) -> str:
    """For the terminal and the log: one line with the alerts and warnings (the `shown` worst, and where the rest
    are: `details`), or that nothing moved; which columns were not measured; then a line per note."""
    left_out = report.get("left_out", {})
    unmeasured = f"; not measured: {', '.join(left_out)} (time columns)" if left_out else ""
    where = f"; every column in {details}" if details else ""
    if not report["moved"]:
        line = f"drift: nothing moved (every PSI below {report['thresholds']['warn']}){unmeasured}{where}"
    else:
        every = {**report["columns"], **{f"prediction:{k}": v for k, v in report["predictions"].items()}}
        worst = ", ".join(
            f"{name} {every[name]['psi']:.2f} ({every[name]['level']})" for name in report["moved"][:shown]
        )
        more = f" and {len(report['moved']) - shown} more" if len(report["moved"]) > shown else ""
        line = f"drift: {len(report['alerts'])} alert(s), {len(report['moved'])} moved; worst: {worst}{more}{where}"
    return "\n".join([line, *(f"note: {note}" for note in report.get("notes", []))])


def markdown(report: dict[str, Any]) -> str:
    """The drift table for a Prefect artifact: every column and model, worst first."""
    every = {**report["columns"], **{f"prediction:{k}": v for k, v in report["predictions"].items()}}
    lines = ["| column | PSI | level |", "|---|---|---|"]
    for name, entry in sorted(every.items(), key=lambda item: -item[1]["psi"]):
        lines.append(f"| {name} | {entry['psi']:.4f} | {entry['level']} |")
    lines += [f"\nNot measured: {name}, {why}." for name, why in report.get("left_out", {}).items()]
    lines += [f"\nNote: {note}" for note in report.get("notes", [])]
    return "\n".join(lines)


def _entry(value: float, warn: float, alert: float) -> dict[str, Any]:
    level = "alert" if value >= alert else "warn" if value >= warn else "ok"
    return {"psi": round(value, 6), "level": level}


def _tensor_shares(values: torch.Tensor, edges: list[float]) -> list[float]:
    rows = max(values.numel(), 1)
    finite = values[~torch.isnan(values)]
    bounds = torch.tensor(edges, dtype=values.dtype, device=values.device)
    counts = torch.bincount(torch.bucketize(finite, bounds), minlength=len(edges) + 1).cpu().tolist()
    return [c / rows for c in counts] + [(values.numel() - finite.numel()) / rows]
