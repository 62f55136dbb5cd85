"""A fourth model family, added by the tests as one file plus one registration line: scikit-learn's
histogram gradient boosting (no cuML twin, so the CPU backend only)."""

from __future__ import annotations

from pipelines.models.estimators import Estimator


class HistGradientBoosting(Estimator):
    name = "hist_gradient_boosting"
    classes = {
        "classification": {"sklearn": "sklearn.ensemble.HistGradientBoostingClassifier"},
        "regression": {"sklearn": "sklearn.ensemble.HistGradientBoostingRegressor"},
    }
    params = {"max_iter": 100, "random_state": 0}
    trusted_types = ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",)
