"""The inference bundle in a run's model/ folder: workflow state and model weights, never plain pickle.

workflow.json (feature state), mlp.safetensors + mlp.json (weights and architecture), xgboost.json,
<name>.skops for scikit-learn models (cuML models are converted with `as_sklearn` first).
"""

from __future__ import annotations

from typing import Any

import skops.io
from safetensors.torch import save_file

from pipelines.backend import Backend
from pipelines.baselines import FittedBaseline
from pipelines.rundir import RunDirectory
from pipelines.train import TrainResult


def save_bundle(
    run: RunDirectory, workflow: Any, fitted: dict[str, FittedBaseline], mlp: TrainResult, backend: Backend
) -> None:
    workflow.save(run.path("model/workflow.json"))
    weights = {k: v.detach().contiguous().cpu() for k, v in mlp.model.state_dict().items()}
    save_file(weights, str(run.path("model/mlp.safetensors")))
    run.write_json(
        "model/mlp.json",
        {
            "n_numeric": len(workflow.numeric_),
            "cardinalities": [workflow.cardinalities_[c] for c in workflow.categorical_],
            "hidden": list(_hidden(mlp)),
            "dropout": mlp.config.dropout,
            "norm": mlp.config.norm,
            "target_mean": mlp.target_mean,
            "target_std": mlp.target_std,
            "best_epoch": mlp.best_epoch,
        },
    )
    for name, baseline in fitted.items():
        if name == "xgboost":
            baseline.model.save_model(str(run.path("model/xgboost.json")))
        else:
            skops.io.dump(backend.portable_estimator(baseline.model), run.path(f"model/{name}.skops"))


def _hidden(mlp: TrainResult) -> list[int]:
    return [layer.out_features for layer in mlp.model.body if hasattr(layer, "out_features")][:-1]
