"""A Dask worker killed while XGBoost trains on the cluster: the fit ends in a ClusterError saying so, soon."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pandas as pd
import pytest

from pipelines.cluster.client import open_cluster
from pipelines.config import parse_cluster
from pipelines.errors import ClusterError
from pipelines.models import xgboost_dask
from pipelines.models.xgboost import PARAMS

pytestmark = pytest.mark.slow


def _rows(rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=rows).astype("float32") for i in range(4)})
    return frame, pd.Series((frame.f0 + rng.normal(size=rows) > 0).astype("int32"))


def test_a_worker_killed_after_the_rows_were_sent_is_a_cluster_error(monkeypatch):
    with open_cluster(parse_cluster("local", 2)) as client:
        pids = client.run(os.getpid)
        sent = xgboost_dask.scatter_frame

        killed = []

        def send_then_kill(*args, **kwargs):
            result = sent(*args, **kwargs)
            if not killed:  # once: the training rows' share on that worker goes with it
                os.kill(pids[sorted(pids)[-1]], signal.SIGKILL)
                killed.append(True)
            return result

        monkeypatch.setattr(xgboost_dask, "scatter_frame", send_then_kill)
        params = {"eval_metric": "auc", "device": "cpu", **PARAMS}
        started = time.monotonic()
        with pytest.raises(ClusterError, match="a Dask worker was lost") as error:
            xgboost_dask.fit_on_cluster(client, "classification", params, _rows(4000, 0), _rows(1000, 1), "1MiB")
    assert time.monotonic() - started < 120
    assert "--partition-size" in str(error.value) and error.value.exit_code == 1
