"""Baseline models: one registry of names -> cuML and scikit-learn classes, plus XGBoost on cuda or cpu.

Estimators read the feature frame directly (cuDF on GPU, pandas on CPU); predictions come back as device
tensors for `evaluate`. Parameters are the same on both backends where both accept them.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch

from pipelines.backend import Backend

REGISTRY: dict[str, dict[str, dict[str, Any]]] = {
    "classification": {
        "logistic_regression": {
            "classes": {
                "sklearn": "sklearn.linear_model.LogisticRegression",
                "cuml": "cuml.linear_model.LogisticRegression",
            },
            "params": {"C": 1.0, "max_iter": 500},
        },
        "random_forest": {
            "classes": {
                "sklearn": "sklearn.ensemble.RandomForestClassifier",
                "cuml": "cuml.ensemble.RandomForestClassifier",
            },
            "params": {
                "n_estimators": 100,
                "max_depth": 12,
                "max_features": 0.5,
                "max_samples": 0.5,
                "random_state": 0,
            },
        },
    },
    "regression": {
        "linear_regression": {
            "classes": {"sklearn": "sklearn.linear_model.Ridge", "cuml": "cuml.linear_model.Ridge"},
            "params": {"alpha": 1.0},
        },
        "random_forest": {
            "classes": {
                "sklearn": "sklearn.ensemble.RandomForestRegressor",
                "cuml": "cuml.ensemble.RandomForestRegressor",
            },
            "params": {
                "n_estimators": 100,
                "max_depth": 12,
                "max_features": 0.5,
                "max_samples": 0.5,
                "random_state": 0,
            },
        },
    },
}
XGBOOST_PARAMS = {
    "n_estimators": 1000,
    "learning_rate": 0.05,
    "max_depth": 8,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5,
    "early_stopping_rounds": 50,
    "tree_method": "hist",
    "random_state": 0,
}


@dataclass
class FittedBaseline:
    name: str
    model: Any
    fit_seconds: float
    warnings: list[str] = field(default_factory=list)


def names(task: str) -> list[str]:
    return [*REGISTRY[task], "xgboost"]


def fit(
    name: str, task: str, X_train: Any, y_train: Any, X_valid: Any, y_valid: Any, backend: Backend
) -> FittedBaseline:
    """Fit one baseline; XGBoost stops early on the validation split."""
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if name == "xgboost":
            model = _xgboost(task, backend)
            model.fit(X_train, y_train, eval_set=[(X_valid, y_valid)], verbose=False)
        else:
            entry = REGISTRY[task][name]
            model = backend.estimator(entry["classes"], **entry["params"])
            model.fit(X_train, y_train)
        backend.synchronize()
    # Kept for the run's notes (e.g. a solver that did not converge) instead of scrolling past.
    messages = sorted({f"{name}: {w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught})
    return FittedBaseline(name, model, time.perf_counter() - started, messages)


def predict(baseline: FittedBaseline, X: Any, task: str, backend: Backend) -> torch.Tensor:
    """Positive-class probability or prediction, as a tensor on the backend's device."""
    if baseline.name == "xgboost":
        # The sklearn wrapper's predict_proba copies to host; inplace_predict stays on the data's device.
        best = baseline.model.best_iteration
        output = baseline.model.get_booster().inplace_predict(X, iteration_range=(0, best + 1))
        return backend.to_torch_array(output)
    return backend.predict_scores(baseline.model, X, task)


def _xgboost(task: str, backend: Backend) -> Any:
    import xgboost

    params = {**XGBOOST_PARAMS, "device": backend.xgboost_device}
    if task == "classification":
        return xgboost.XGBClassifier(eval_metric="auc", **params)
    return xgboost.XGBRegressor(eval_metric="rmse", **params)
