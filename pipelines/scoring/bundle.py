"""The inference bundle in a run's model/ folder: the workflow state and every model, never plain pickle.

workflow.json (+ its Parquet tables), the files each model family writes (`ModelAdapter.save`: skops for
scikit-learn/cuML, XGBoost JSON, safetensors + JSON for the MLP), and profile.json: the training rows' and each
model's test predictions' drift profile (pipelines.scoring.drift), which scoring compares new rows with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.features.workflow import Workflow
from pipelines.files import write_text_atomic
from pipelines.models import FittedModel
from pipelines.scoring import drift

FOLDER = "model"
PROFILE = "profile.json"
# A bundle packed to travel (an MLflow model's, pipelines.tracking.pyfunc) carries copies of the tables new rows are
# joined with (the recipe's context tables) in this folder beside model/, one folder per table.
CONTEXT = "context"


def save_bundle(
    folder: Path, workflow: Workflow, fitted: dict[str, FittedModel], profile: dict[str, Any] | None = None
) -> None:
    """Write the workflow, every fitted model and (when given) the drift profile into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    workflow.save(folder / "workflow.json")
    for model in fitted.values():
        model.model.save(folder)
    if profile is not None:
        write_text_atomic(folder / PROFILE, json.dumps(profile, indent=1) + "\n")


def drift_profile(features: Any, fitted: dict[str, FittedModel]) -> dict[str, Any]:
    """The training rows' profile (from the features stage) and each model's predictions on the test split, as
    the model stages scored them."""
    predictions = {name: drift.profile_scores(model.predictions["test"]) for name, model in fitted.items()}
    return {**features.profile, "predictions": predictions}
