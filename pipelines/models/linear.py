"""The linear baselines: logistic regression (classification) and ridge (regression), scikit-learn's or cuML's
(pipelines.models.estimators), on the numbers and one-hot codes."""

from __future__ import annotations

from typing import Any

from pipelines.models.estimators import Estimator


class LinearEstimator(Estimator):
    """A linear model: numbers and one-hot codes, never raw codes; a bounded sample of rows (see Estimator)."""

    one_hot = True
    fit_rows = 2_000_000


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
    def search_space(cls, trial: Any, task: str) -> dict[str, Any]:
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
    def search_space(cls, trial: Any, task: str) -> dict[str, Any]:
        return {"alpha": trial.suggest_float("alpha", 1e-3, 1e2, log=True)}
