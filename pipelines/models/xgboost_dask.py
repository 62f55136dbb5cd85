"""XGBoost through its Dask interface (xgboost.dask) on the run's cluster, for the XGBoost family.

The rows go to the workers in partitions of about --partition-size (at least one per worker, pipelines.cluster.client);
each worker builds the histograms of its partitions and the workers agree on every split (XGBoost's collective),
so one booster comes back. It is returned as an ordinary estimator, so that predicting, importance and saving are
the same as for a model fitted in the run's own process.
"""

from __future__ import annotations

from typing import Any

from pipelines.cluster.client import scatter_frame, worker_losses
from pipelines.cluster.partitions import is_partitioned

COLLECTIVE_TIMEOUT = 600  # seconds a worker waits for the others at one of XGBoost's collective operations
# The scikit-learn wrapper's names that xgboost.train takes elsewhere, or under another name.
SKLEARN_ONLY = ("n_estimators", "early_stopping_rounds", "random_state")
OBJECTIVE = {"classification": "binary:logistic", "regression": "reg:squarederror"}


def fit_on_cluster(
    client: Any, task: str, params: dict[str, Any], train: tuple[Any, Any], valid: tuple[Any, Any], size: str
) -> Any:
    """The booster trained on `client`'s workers from (features, target) pairs, as xgboost.train's output. A pair
    of dask collections is read where it is; a pair of this process's frames is sent in partitions of `size`."""
    with worker_losses("XGBoost's training on the cluster"):
        return _train(client, task, params, train, valid, size)


def _train(client: Any, task: str, params: dict[str, Any], train: tuple, valid: tuple, size: str) -> Any:
    from xgboost import dask as dxgb
    from xgboost.collective import Config

    (x_train, y_train), (x_valid, y_valid) = (
        (frame, target) if is_partitioned(frame) else scatter_frame(client, frame, size, target)
        for frame, target in (train, valid)
    )
    dtrain = dxgb.DaskQuantileDMatrix(client, x_train, y_train)
    dvalid = dxgb.DaskQuantileDMatrix(client, x_valid, y_valid, ref=dtrain)
    native = {key: value for key, value in params.items() if key not in SKLEARN_ONLY}
    native.update(objective=OBJECTIVE[task], seed=params["random_state"])
    output = dxgb.train(
        client,
        native,
        dtrain,
        num_boost_round=params["n_estimators"],
        evals=[(dvalid, "validation")],
        early_stopping_rounds=params["early_stopping_rounds"],
        verbose_eval=False,
        # A worker lost mid-training fails the fit within this time instead of leaving the others waiting.
        coll_cfg=Config(timeout=COLLECTIVE_TIMEOUT, tracker_timeout=COLLECTIVE_TIMEOUT),
    )
    return output["booster"]
