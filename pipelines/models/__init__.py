"""Model families, one class each, registered here by name; and the two stages that fit them.

    logistic_regression, linear_regression, random_forest   scikit-learn / cuML (pipelines.models.estimators, the
                                                             common class; linear.py and forest.py, the families)
    xgboost                                                  XGBoost on cuda or cpu (pipelines.models.xgboost)
    mlp                                                      the MLP on device tensors (pipelines.models.mlp)

Adding a family is one new module with a ModelAdapter subclass and one line in FAMILIES. A family that can be tuned
(`devicepipe tune`) declares its settings (`defaults`) and the space a trial draws them from (`search_space`). The
order of FAMILIES is the order of metrics.json. Nothing outside the families branches on a model's name.
May import: training/, features/, data/, cluster/, backend/ and the basics (config, errors, files, evaluate);
never a dataset recipe (pipelines.datasets), the report, scoring or runs.
"""

from pipelines.models.base import FitOptions, FittedModel, ModelAdapter, Split, fit_and_score
from pipelines.models.forest import RandomForest
from pipelines.models.linear import LinearRegression, LogisticRegression
from pipelines.models.mlp import MLP
from pipelines.models.registry import (
    FAMILIES,
    check,
    family,
    fit_baselines,
    fit_stage,
    left_out,
    names,
    selected,
    train_networks,
    warm_up,
)
from pipelines.models.xgboost import XGBoost

__all__ = [
    "FAMILIES",
    "MLP",
    "FitOptions",
    "FittedModel",
    "LinearRegression",
    "LogisticRegression",
    "ModelAdapter",
    "RandomForest",
    "Split",
    "XGBoost",
    "check",
    "family",
    "fit_and_score",
    "fit_baselines",
    "fit_stage",
    "left_out",
    "names",
    "selected",
    "train_networks",
    "warm_up",
]
