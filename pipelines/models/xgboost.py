"""XGBoost on the backend's device (device="cuda" or "cpu"), stopping early on the validation split.

It reads the feature frame directly (cuDF on the GPU); predictions use `inplace_predict`, which stays on the
data's device where the scikit-learn wrapper's predict_proba would copy to the host. Saved as XGBoost JSON.
Its importance is TreeSHAP: XGBoost's own `pred_contribs=True`, computed on the booster's device (GPUTreeSHAP on
the GPU), averaged as mean |contribution| per feature. With a Dask cluster (--cluster) it trains through XGBoost's
Dask interface on the cluster's workers (xgboost.dask), and the booster comes back as an ordinary estimator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipelines.backend import Backend, model_transfers
from pipelines.data.split import sample_rows
from pipelines.features.workflow import Workflow
from pipelines.files import atomic_path
from pipelines.models.base import FitOptions, ModelAdapter, Split, labels
from pipelines.models.xgboost_dask import fit_on_cluster

PARAMS = {
    "n_estimators": 1000,
    "learning_rate": 0.1,
    "max_depth": 6,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5,
    "reg_alpha": 0.0,
    "reg_lambda": 1.0,
    "max_bin": 256,
    "early_stopping_rounds": 30,
    "tree_method": "hist",
    "random_state": 0,
}
EVAL_METRIC = {"classification": "auc", "regression": "rmse"}
# What tuning draws; the rounds are n_estimators at most, ended by early stopping on the validation split.
TUNED = ("learning_rate", "max_depth", "min_child_weight", "subsample", "colsample_bytree", "reg_alpha", "reg_lambda")


class XGBoost(ModelAdapter):
    name = "xgboost"
    files = ("xgboost.json",)
    importance_method = "TreeSHAP"
    # A slow learning rate trails a fast one for its first rounds and passes it later: judged from round 50 on.
    pruning_warmup = 50

    def __init__(self, task: str, backend: Backend, workflow: Workflow, booster: Any = None):
        super().__init__(task, backend, workflow)
        self.model = booster
        self.workers: int | None = None  # the Dask workers it was fitted on (None: in this process)

    @classmethod
    def defaults(cls, task: str) -> dict[str, Any]:
        return {key: PARAMS[key] for key in (*TUNED, "max_bin")}

    @classmethod
    def search_space(cls, trial: Any, task: str) -> dict[str, Any]:
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "max_depth": trial.suggest_int("max_depth", 3, 10),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 50.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_alpha": trial.suggest_float("reg_alpha", 1e-8, 10.0, log=True),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 100.0, log=True),
            "max_bin": trial.suggest_categorical("max_bin", [64, 128, 256, 512]),
        }

    @classmethod
    def default_draw(cls, task: str) -> dict[str, Any]:
        return {**cls.defaults(task), "reg_alpha": 1e-8}  # the L1 range is logarithmic: its least for none

    def fit(self, train: Split, valid: Split, options: FitOptions) -> None:
        y_train, y_valid = (labels(split, self.task) for split in (train, valid))
        settings = self.check_settings(self.task, options.settings)
        params = {"eval_metric": EVAL_METRIC[self.task], "device": self.backend.xgboost_device, **PARAMS, **settings}
        if options.placement.client is not None:  # the rows the workers hold are read there, the others sent
            pairs = [
                (s.on_workers.frame, labels(s.on_workers, self.task)) if s.on_workers else (s.frame, y)
                for s, y in ((train, y_train), (valid, y_valid))
            ]
            self.model = self._fit_on_cluster(options, params, *pairs)
            return
        if options.on_step is not None:  # in this process only (a trial fits here)
            params["callbacks"] = [_each_round(options.on_step, self.task)]
        self.model = _new(self.task, **params)
        with model_transfers("XGBoost's fit (its trees, built on the device, kept on the host)"):
            self.model.fit(train.frame, y_train, eval_set=[(valid.frame, y_valid)], verbose=False)

    def _fit_on_cluster(self, options: FitOptions, params: dict[str, Any], train: tuple, valid: tuple) -> Any:
        """The booster trained through XGBoost's Dask interface (pipelines.models.xgboost_dask), as an ordinary
        estimator on this backend's device."""
        placement = options.placement
        self.workers = placement.workers
        booster = fit_on_cluster(placement.client, self.task, params, train, valid, placement.partition_size)
        local = _new(self.task)
        local.load_model(bytearray(booster.save_raw("json")))
        local.set_params(device=self.backend.xgboost_device)
        return local

    def predict(self, split: Split) -> torch.Tensor:
        best = self.model.best_iteration
        output = self.model.get_booster().inplace_predict(split.frame, iteration_range=(0, best + 1))
        return self.backend.to_torch_array(output)

    def importance(self, split: Split, rows: int, seed: int) -> dict[str, float]:
        """Mean |SHAP contribution| per feature over a seeded sample of the split's rows (the bias column left out)."""
        import xgboost

        frame = sample_rows(split.frame, rows / max(len(split.frame), 1), seed)
        booster = self.model.get_booster()
        contributions = booster.predict(
            xgboost.DMatrix(frame), pred_contribs=True, iteration_range=(0, self.model.best_iteration + 1)
        )
        mean = np.abs(self.backend.to_numpy(contributions)).mean(axis=0)[:-1]
        return {str(column): float(value) for column, value in zip(frame.columns, mean, strict=True)}

    def details(self) -> dict[str, Any]:
        return {"best_iteration": int(self.model.best_iteration), "dask_workers": self.workers}

    @classmethod
    def warm_up(cls, task: str, backend: Backend) -> None:
        import xgboost  # noqa: F401 (scikit-learn and SciPy come with it)

    def save(self, folder: Path) -> None:
        with atomic_path(folder / "xgboost.json", keep_suffix=True) as tmp:  # XGBoost picks JSON by the suffix
            self.model.save_model(str(tmp))

    @classmethod
    def load(cls, folder: Path, task: str, backend: Backend, workflow: Workflow) -> XGBoost:
        model = _new(task)
        model.load_model(str(folder / "xgboost.json"))
        model.set_params(device=backend.xgboost_device)
        return cls(task, backend, workflow, model)


def _each_round(on_step: Any, task: str) -> Any:
    """An XGBoost callback giving `on_step` each round's validation metric (AUC, or RMSE for regression)."""
    import xgboost  # here: the module imports without XGBoost's start-up cost (pipelines.models.warm_up)

    metric = EVAL_METRIC[task]

    class EachRound(xgboost.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
            on_step(epoch, float(evals_log["validation_0"][metric][-1]))
            return False

    return EachRound()


def _new(task: str, **params: Any) -> Any:
    import xgboost

    return xgboost.XGBClassifier(**params) if task == "classification" else xgboost.XGBRegressor(**params)
