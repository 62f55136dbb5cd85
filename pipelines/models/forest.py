"""The random forest baseline, scikit-learn's or cuML's (pipelines.models.estimators), on the feature frame."""

from __future__ import annotations

from typing import Any

from pipelines.models.estimators import Estimator

FOREST = {"n_estimators": 100, "max_depth": 12, "max_features": 0.5, "max_samples": 0.5, "random_state": 0}


class RandomForest(Estimator):
    name = "random_forest"
    # About 45 s on 2 CPU cores for the default job, below XGBoost's AUC in a twentieth of the time; cuML fits it
    # in seconds. Asked for by name (--model random_forest) it runs on the CPU too.
    default_on = ("gpu",)
    classes = {
        "classification": {
            "sklearn": "sklearn.ensemble.RandomForestClassifier",
            "cuml": "cuml.ensemble.RandomForestClassifier",
            "cuml.dask": "cuml.dask.ensemble.RandomForestClassifier",
        },
        "regression": {
            "sklearn": "sklearn.ensemble.RandomForestRegressor",
            "cuml": "cuml.ensemble.RandomForestRegressor",
            "cuml.dask": "cuml.dask.ensemble.RandomForestRegressor",
        },
    }
    params = FOREST
    trusted_types = ("sklearn.tree._tree.Tree",)
    tuned = ("n_estimators", "max_depth", "max_features", "max_samples")

    @classmethod
    def search_space(cls, trial: Any, task: str) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 50, 400, log=True),
            "max_depth": trial.suggest_int("max_depth", 4, 16),
            "max_features": trial.suggest_float("max_features", 0.2, 1.0),
            "max_samples": trial.suggest_float("max_samples", 0.3, 1.0),
        }
