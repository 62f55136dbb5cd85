"""Tuning on the GPU backend with its trials on a LocalCUDACluster's worker: the splits (cuDF frames, CUDA tensors)
sent to the worker's GPU, the study reached through the scheduler (unverified until a GPU runs it)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import tuning
from pipelines.config import RunConfig
from pipelines.training.handoff import hand_off
from tests.pipelines.models.test_families import _features

pytestmark = [pytest.mark.gpu, pytest.mark.rapids]


def test_trials_run_on_a_local_cuda_worker_with_the_splits_on_its_gpu(gpu, tmp_path):
    from distributed import Client  # here: with dask-cuda below, only where a GPU is

    from pipelines.backend.gpu_cluster import local_cuda_cluster  # here: dask-cuda, on a GPU machine only

    features = _features("classification", gpu)
    features.frames = {name: gpu.from_pandas(frame) for name, frame in features.frames.items()}
    features.targets = {name: gpu.from_pandas(target) for name, target in features.targets.items()}
    features.cache = {"key": "gpu-features"}
    handoff = hand_off(features, gpu)
    request = tuning.TuneRequest(families=["xgboost", "mlp"], trials=3, study="g")
    config = RunConfig(task="classification", epochs=2, backend="gpu")
    with local_cuda_cluster(1) as cluster, Client(cluster) as client:
        best = tuning.tune(features, handoff, config, gpu, request, tmp_path, client=client)
    trials = pd.read_csv(tmp_path / tuning.TRIALS)
    assert len(trials) == 6 and trials["worker"].nunique() == 1 and set(trials["state"]) <= {"complete", "pruned"}
    assert all(0.5 < entry["test"]["auc"] <= 1 for entry in best["families"].values())
