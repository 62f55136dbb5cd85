"""What the report shows, gathered once training has ended and brought to the host through the backend.

Everything comes from what the stages already computed: each model's predictions on the test split (kept by
`pipelines.models.base.fit_and_score` when it scored them), the split targets, the loaded columns' share of
nulls (counted by the load stage), the counts, the seconds per stage and the residency ledger. Nothing is
refitted and no data is read again. Device arrays reach the host here, after the last stage, through the backend
(`to_numpy`, `to_pandas`): the residency ledger covers load to the end of training only.

Importance: for each importance method a family offers (`ModelAdapter.importance_method`), the model of that
method that is best on the validation split: TreeSHAP for the best tree model (XGBoost's own contributions, on
its device), permutation importance for the MLP, each on at most IMPORTANCE_ROWS validation rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch

from pipelines import evaluate
from pipelines.backend import Backend
from pipelines.features.feature_set import FeatureSet
from pipelines.models import FittedModel, Split
from pipelines.report.decision import Decision, decide
from pipelines.training.handoff import Handoff

Table = tuple[list[str], list[list[str]]]  # a header and rows of cells, drawn as markdown or HTML
IMPORTANCE_ROWS = 2000
IMPORTANCE_SPLIT = "valid"
METHODS = {  # method -> (what the numbers are, the axis label of its figure)
    "TreeSHAP": (
        "mean |SHAP contribution| per feature (XGBoost's own TreeSHAP, pred_contribs=True)",
        "mean |SHAP contribution|",
    ),
    "permutation": (
        "how much the validation {metric} worsens when the feature's values are shuffled among rows (mean of 3)",
        "validation {metric} worsened by",
    ),
}


@dataclass
class Importance:
    """One model's importance per feature, largest first."""

    model: str
    method: str
    rows: int
    values: dict[str, float]

    def describe(self, task: str) -> str:
        text = METHODS.get(self.method, (self.method, ""))[0].format(metric=evaluate.PRIMARY[task])
        return f"{text}, on {self.rows:,} rows of the {IMPORTANCE_SPLIT} split"

    def axis_label(self, task: str) -> str:
        return METHODS.get(self.method, ("", self.method))[1].format(metric=evaluate.PRIMARY[task])


@dataclass(kw_only=True)
class ReportData:
    """Host values only: the report's pages and figures are drawn from these."""

    run: str
    metrics: dict[str, Any]
    notes: list[str]
    seconds: dict[str, float]
    residency: dict[str, Any] | None
    y_test: np.ndarray
    predictions: dict[str, np.ndarray]  # model -> its predictions on the test split
    y_valid: np.ndarray = field(default_factory=lambda: np.empty(0))
    valid_predictions: dict[str, np.ndarray] = field(default_factory=dict)  # the thresholds are chosen on these
    profile: dict[str, Any] = field(default_factory=dict)  # the training rows' drift profile, as the bundle keeps it
    histories: dict[str, list[dict[str, Any]]]
    importances: list[Importance] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    # What produced the run (pipelines.runs.record.run_about): settings changed from the defaults, the inputs and
    # their sha256, the start, the commit, the libraries' versions, the backend, the Prefect flow run.
    about: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.metrics["task"]

    @cached_property
    def decision(self) -> Decision:
        """The baseline, the thresholds, the gains and the checks' notes (pipelines.report.decision)."""
        return decide(self.task, self.data, (self.y_valid, self.valid_predictions), (self.y_test, self.predictions))

    @cached_property
    def curve_labels(self) -> dict[str, str]:
        """Each model's legend label with its test metric (AUC or RMSE) recomputed from the predictions the
        figures draw, once for the page, report.md and every legend."""
        metric = evaluate.PRIMARY[self.task]
        y = torch.from_numpy(self.y_test)
        measure = evaluate.METRICS[self.task][metric]
        return {
            name: f"{name} ({metric.upper()} {float(measure(y, torch.from_numpy(p))):.4f})"
            for name, p in self.predictions.items()
        }


def gather(
    run: str,
    metrics: dict[str, Any],
    features: FeatureSet,
    handoff: Handoff,
    fitted: dict[str, FittedModel],
    seconds: dict[str, float],
    residency: dict[str, Any] | None,
    notes: list[str],
    backend: Backend,
    found: list[Importance] | None = None,
) -> ReportData:
    """The report's values for a finished run (after its last stage: the copies to the host happen here).
    `found`: the importances, if already computed (`importances`)."""
    predictions = {name: host(backend, model.predictions["test"]) for name, model in fitted.items()}
    valid = {name: host(backend, model.predictions["valid"]) for name, model in fitted.items()}
    return ReportData(
        run=run,
        metrics=metrics,
        notes=notes,
        seconds=seconds,
        residency=residency,
        y_test=host(backend, handoff.data["test"].y),
        predictions=predictions,
        y_valid=host(backend, handoff.data["valid"].y),
        valid_predictions=valid,
        profile=features.profile,
        histories={name: model.model.history for name, model in fitted.items() if model.model.history},
        importances=importances(features, handoff, fitted, metrics["task"]) if found is None else found,
        data=data_summary(features, backend),
    )


def host(backend: Backend, tensor: Any) -> np.ndarray:
    """A device tensor as a float64 NumPy array on the host (the backend makes the copy)."""
    return np.asarray(backend.to_numpy(tensor.detach().contiguous()), dtype=np.float64)


def importances(
    features: FeatureSet, handoff: Handoff, fitted: dict[str, FittedModel], task: str, seed: int = 0
) -> list[Importance]:
    """Per importance method, the best model offering it (on the validation split), and its importance."""
    primary = evaluate.PRIMARY[task]
    best: dict[str, str] = {}
    for name, model in fitted.items():
        method = model.model.importance_method
        if method is None:
            continue
        score = model.scores["valid"][primary]
        if method not in best or evaluate.is_better(primary, score, fitted[best[method]].scores["valid"][primary]):
            best[method] = name
    split = Split(features.frames[IMPORTANCE_SPLIT], features.targets[IMPORTANCE_SPLIT], handoff.data[IMPORTANCE_SPLIT])
    rows = min(IMPORTANCE_ROWS, len(split.frame))
    found = []
    for method, name in best.items():
        values = fitted[name].model.importance(split, IMPORTANCE_ROWS, seed)
        ranked = dict(sorted(values.items(), key=lambda item: item[1], reverse=True))
        found.append(Importance(name, method, rows, ranked))
    return found


def data_summary(features: FeatureSet, backend: Backend) -> dict[str, Any]:
    """Rows loaded and dropped, rows per split with the target's balance (classification: the positive share;
    regression: mean and std), and the share of nulls per loaded column."""
    splits = {}
    for name, target in features.targets.items():
        values = np.asarray(backend.to_numpy(backend.column_view(target)), dtype=np.float64)
        splits[name] = {"rows": len(values), "mean": float(values.mean()), "std": float(values.std())}
    total = sum(s["rows"] for s in splits.values())
    overall = sum(s["mean"] * s["rows"] for s in splits.values()) / max(total, 1)
    shares = None if features.null_share is None else backend.to_pandas(features.null_share)
    return {
        "counts": dict(features.counts),
        "splits": splits,
        "rows": total,
        "mean": overall,
        "classes": list(features.target.classes),
        "null_share": None if shares is None else {str(k): float(v) for k, v in shares.items()},
    }
