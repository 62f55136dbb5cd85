"""A run's inference bundle as an MLflow pyfunc model: `mlflow.pyfunc.load_model("runs:/<id>/model")` scores a
pandas frame of new rows as `devicepipe predict` scores the same rows in a file, and `mlflow models serve` serves it.

The model is logged "from code" (served.py, not a pickle): its artifacts are the bundle (the run's manifest.json,
metrics.json and model/ folder, checked against the manifest's hashes when loaded, as `predict` checks them) and
copies of the tables new rows are joined with (a recipe's `context_tables`, the flights' weather and planes); its
code is this package, so it scores with the code that trained it; its requirements are devicepipe's own, at the
versions of the run. Its input example is the first rows of the training input, as new rows come.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import warnings
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from packaging.requirements import Requirement

from pipelines.backend import select
from pipelines.data.load import resolve
from pipelines.datasets import recipe_for
from pipelines.files import MANIFEST
from pipelines.scoring import threshold
from pipelines.scoring.bundle import CONTEXT, FOLDER
from pipelines.scoring.predict import open_bundle, predictions_frame, score_rows

NAME = "model"  # the logged model's name: runs:/<run id>/model
SERVED = Path(__file__).with_name("served.py")  # the code MLflow runs to load it
SIGNATURE_ROWS, EXAMPLE_ROWS = 1000, 5  # the signature is read from the first 1,000 input rows; 5 are the example
FAMILY = "logged_model"  # the model's config: the family it scores with (MLflow logs it as a run parameter too)


class BundleModel(mlflow.pyfunc.PythonModel):
    """One family of a run's bundle (`model_config[FAMILY]`), on the backend `DEVICEPIPE_BACKEND` names (auto:
    the GPU when one is usable). A classifier's `prediction` is its positive class from the probability the
    `threshold` parameter gives (default 0.5; the run's chosen cut is its `<family>/threshold` metric)."""

    def load_context(self, context: Any) -> None:
        self.open(Path(context.artifacts["bundle"]), context.model_config[FAMILY], "auto")

    def open(self, folder: Path, family: str, backend: str) -> BundleModel:
        """The bundle packed in `folder` (pack_bundle), scoring with `family` on `backend`."""
        self.bundle, self.family, self.backend = open_bundle(folder), family, select(backend)
        return self

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        frame = self.backend.from_pandas(pd.DataFrame(model_input))
        rows = recipe_for(self.bundle.config).shape_to_score(frame, self.backend, self.bundle.tables)
        scores = score_rows(self.bundle, rows, self.backend, self.family)
        cut = threshold.resolve((params or {}).get("threshold"), self.bundle.metrics, self.family)
        return predictions_frame(scores, self.bundle, self.backend, threshold.at(cut))


def pack_bundle(run_dir: Path, folder: Path) -> Path:
    """The run's bundle and its context tables copied into `folder` (its hashes checked there)."""
    folder.mkdir(parents=True)
    for name in (MANIFEST, "metrics.json"):
        shutil.copy2(run_dir / name, folder / name)
    shutil.copytree(run_dir / FOLDER, folder / FOLDER)
    bundle = open_bundle(folder)
    for name, path in recipe_for(bundle.config).context_tables().items():
        (folder / CONTEXT / name).mkdir(parents=True)
        for file in resolve(path).files:
            shutil.copy2(file, folder / CONTEXT / name / file.name)
    return folder


def log_model(run_id: str, run_dir: Path, family: str, scratch: Path) -> Any:
    """`family` of the run at `run_dir` logged as the pyfunc model NAME of the MLflow run `run_id` (the tracking
    URI set), with its signature and input example; returns MLflow's ModelInfo."""
    model = BundleModel().open(pack_bundle(run_dir, scratch / "bundle"), family, "cpu")
    sample = recipe_for(model.bundle.config).example_to_score(SIGNATURE_ROWS)
    with warnings.catch_warnings():
        # MLflow's hint that an integer column with a missing value would fail its schema: the signature is read
        # from rows as the training input has them, where a column with missing values is not an integer one.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        # a classifier's `threshold` (predict --threshold), a parameter of predict and of the served model
        params = {"threshold": threshold.DEFAULT} if model.bundle.task == "classification" else None
        signature = mlflow.models.infer_signature(sample, model.predict(None, sample), params)
    example = sample.head(EXAMPLE_ROWS)
    nested = mlflow.active_run() is not None  # a notebook's own run stays as it is
    with mlflow.start_run(run_id=run_id, nested=nested):
        return mlflow.pyfunc.log_model(
            name=NAME,
            python_model=SERVED,
            artifacts={"bundle": str(scratch / "bundle")},
            code_paths=[str(Path(__file__).parents[1])],
            model_config={FAMILY: family},
            signature=signature,
            input_example=example,
            pip_requirements=requirements(),
        )


def requirements() -> list[str]:
    """devicepipe's own requirements (its extras left out), pinned to the versions installed here."""
    found = []
    for text in importlib.metadata.requires("devicepipe") or []:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            found.append(f"{requirement.name}=={importlib.metadata.version(requirement.name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(str(requirement))
    return found
