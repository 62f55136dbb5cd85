"""The linear baselines: logistic regression (classification) and ridge (regression), scikit-learn's or cuML's
(pipelines.models.estimators), on the numbers and one-hot codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.backend import Backend
from pipelines.features import Workflow
from pipelines.files import write_text_atomic
from pipelines.models.estimators import ONE_HOT_MAX, Estimator

ONE_HOT_CHOICES = [0, 16, 64, 256]  # the limits a trial draws from (0: no categorical column one-hot)


class LinearEstimator(Estimator):
    """A linear model: numbers and one-hot codes, never raw codes; a bounded sample of rows (see Estimator). Its
    settings: the estimator's (`tuned`), and `one_hot_max`, the most values a categorical column may have to reach
    it one-hot (saved in <name>.json beside the model: the design's width depends on it)."""

    one_hot = True
    fit_rows = 2_000_000
    files = ("{name}.skops", "{name}.json")

    @classmethod
    def defaults(cls, task: str) -> dict[str, Any]:
        return {**super().defaults(task), "one_hot_max": ONE_HOT_MAX}

    @classmethod
    def search_space(cls, trial: Any, task: str) -> dict[str, Any]:
        return {**cls.estimator_space(trial), "one_hot_max": trial.suggest_categorical("one_hot_max", ONE_HOT_CHOICES)}

    @classmethod
    def estimator_space(cls, trial: Any) -> dict[str, Any]:
        """The estimator's own settings a trial draws."""
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        super().save(folder)
        write_text_atomic(folder / f"{self.name}.json", json.dumps({"one_hot_max": self.one_hot_max}) + "\n")

    @classmethod
    def load(cls, folder: Path, task: str, backend: Backend, workflow: Workflow) -> Estimator:
        model = super().load(folder, task, backend, workflow)
        spec = folder / f"{cls.name}.json"  # bundles written before the limit was a setting: the default
        model.one_hot_max = json.loads(spec.read_text())["one_hot_max"] if spec.exists() else ONE_HOT_MAX
        return model


class LogisticRegression(LinearEstimator):
    name = "logistic_regression"
    tasks = ("classification",)
    classes = {
        "classification": {
            "sklearn": "sklearn.linear_model.LogisticRegression",
            "cuml": "cuml.linear_model.LogisticRegression",
            "cuml.dask": "cuml.dask.linear_model.LogisticRegression",
        }
    }
    params = {"C": 1.0, "max_iter": 500}
    tuned = ("C",)
    # scikit-learn's fit of 728k training rows (1M flights) took 22 s on 2 cores, of 250k 4 s (test AUC 0.6955,
    # 0.6963); the default job's 245k fit whole. cuML fits up to fit_rows.
    sklearn_rows = 250_000
    # Newton steps converge in a handful of iterations on ~200 standardised columns (lbfgs needs ~130: 6x slower).
    family_params = {"sklearn": {"solver": "newton-cholesky"}}

    @classmethod
    def estimator_space(cls, trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}


class LinearRegression(LinearEstimator):
    name = "linear_regression"
    tasks = ("regression",)
    classes = {
        "regression": {
            "sklearn": "sklearn.linear_model.Ridge",
            "cuml": "cuml.linear_model.Ridge",
            "cuml.dask": "cuml.dask.linear_model.Ridge",
        }
    }
    params = {"alpha": 1.0}
    tuned = ("alpha",)

    @classmethod
    def estimator_space(cls, trial: Any) -> dict[str, Any]:
        return {"alpha": trial.suggest_float("alpha", 1e-3, 1e2, log=True)}
