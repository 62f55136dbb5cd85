"""The inference bundle in a run's model/ folder: the workflow state and every model, never plain pickle.

workflow.json (+ its Parquet tables) and the files each model family writes (`ModelAdapter.save`: skops for
scikit-learn/cuML, XGBoost JSON, safetensors + JSON for the MLP).
"""

from __future__ import annotations

from pathlib import Path

from pipelines.features.workflow import Workflow
from pipelines.models import FittedModel

FOLDER = "model"


def save_bundle(folder: Path, workflow: Workflow, fitted: dict[str, FittedModel]) -> None:
    """Write the workflow and every fitted model into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    workflow.save(folder / "workflow.json")
    for model in fitted.values():
        model.model.save(folder)
