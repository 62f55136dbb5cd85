"""The GPU path. `gpu`: needs a CUDA device (torch); `rapids`: needs cuDF/cuML too.
Each test skips with the reason where no GPU is usable; CI has none, so they run on a GPU machine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines import evaluate
from pipelines.loader import DeviceLoader
from pipelines.train import DeviceData, TrainConfig, train_mlp

pytestmark = pytest.mark.gpu


def _separable(device: torch.device, rows: int = 4000) -> tuple[DeviceData, DeviceData]:
    generator = torch.Generator().manual_seed(0)
    numeric = torch.randn(rows, 3, generator=generator)
    codes = torch.randint(0, 5, (rows, 1), generator=generator, dtype=torch.int32)
    y = ((numeric[:, 0] + (codes[:, 0] == 2).float() * 2) > 0.5).float()
    data = DeviceData(numeric.to(device), codes.to(device), y.to(device))
    half = rows // 2
    return (
        DeviceData(data.numeric[:half], data.codes[:half], data.y[:half]),
        DeviceData(data.numeric[half:], data.codes[half:], data.y[half:]),
    )


def test_loader_permutes_on_the_device(cuda_device):
    x = torch.arange(10_000, device=cuda_device)
    batches = list(DeviceLoader((x,), 1024, seed=1))
    assert all(b[0].device.type == "cuda" for b in batches)
    assert torch.equal(torch.sort(torch.cat([b[0] for b in batches])).values, x)


def test_training_on_cuda_with_bf16(cuda_device):
    train, valid = _separable(cuda_device)
    result = train_mlp(train, valid, [5], "classification", TrainConfig(epochs=4), progress=False)
    assert next(result.model.parameters()).device.type == "cuda"
    assert result.best_metric > 0.9


def test_metrics_on_cuda_match_cpu(cuda_device):
    rng = np.random.default_rng(0)
    y, score = rng.integers(0, 2, 5000), np.round(rng.random(5000), 2)
    cpu = evaluate.score("classification", torch.tensor(y), torch.tensor(score))
    gpu = evaluate.score("classification", torch.tensor(y, device=cuda_device), torch.tensor(score, device=cuda_device))
    assert cpu == pytest.approx(gpu, abs=1e-9)


@pytest.mark.rapids
def test_cudf_handoff_keeps_pointers(gpu):
    from pipelines.handoff import to_torch

    frame = gpu.df.DataFrame({"a": np.arange(1000, dtype="float32"), "b": np.arange(1000, dtype="int32")})
    tensors, check = to_torch(frame, ["a", "b"], gpu)
    assert check.zero_copy
    for column, tensor in tensors.items():
        assert tensor.device.type == "cuda"
        assert tensor.data_ptr() == gpu.column_address(frame[column])


@pytest.mark.rapids
def test_flights_features_match_between_backends(gpu, cpu, flights_dir):
    from pipelines import flights
    from pipelines.load import load, resolve
    from pipelines.split import time_split

    def features(backend):
        raw = flights_dir / "raw"
        tables = {n: load(resolve(raw / f"{n}.parquet"), backend) for n in ("flights", "weather", "planes")}
        tables["flights"] = tables["flights"].iloc[::50].reset_index(drop=True)
        prepared = flights.prepare(tables["flights"], tables["weather"], tables["planes"], backend)
        parts = time_split(prepared.frame, flights.TIME_COLUMN, flights.VALID_START, flights.TEST_START)
        workflow = flights.workflow().fit(parts["train"])
        return backend.to_pandas(workflow.transform(parts["test"]))

    on_cpu, on_gpu = features(cpu), features(gpu)
    assert list(on_cpu.columns) == list(on_gpu.columns)
    pd.testing.assert_frame_equal(on_cpu, on_gpu, check_exact=False, rtol=1e-5, atol=1e-5)


@pytest.mark.rapids
def test_baselines_on_gpu(gpu):
    from pipelines import baselines

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=3000).astype("float32"), "b": rng.normal(size=3000).astype("float32")})
    y = pd.Series((X["a"] > 0).astype("float32"))
    Xg, yg = gpu.from_pandas(X), gpu.df.Series(y)
    for name in baselines.names("classification"):
        fitted = baselines.fit(name, "classification", Xg, yg, Xg, yg, gpu)
        scores = baselines.predict(fitted, Xg, "classification", gpu)
        assert scores.device.type == "cuda"
        assert float(evaluate.auc(torch.from_dlpack(yg.values), scores)) > 0.9


@pytest.mark.rapids
@pytest.mark.slow
def test_flow_on_gpu_backend(gpu, flights_dir, tmp_path):
    import json
    from pathlib import Path

    from prefect.testing.utilities import prefect_test_harness

    from flows.train import train

    with prefect_test_harness():
        run = Path(
            train(sample=0.05, epochs=2, output=str(tmp_path), data_dir=str(flights_dir), backend="gpu", progress=False)
        )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["backend"] == "gpu"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["handoff"]["zero_copy"] is True
    ledger = manifest["residency"]
    assert ledger["enabled"] is True
    # Only scalars (null counts, per-epoch metrics) may come back from the device in these stages.
    for stage in ("handoff", "train"):
        assert ledger["stages"][stage]["device_to_host_bytes"] < 64 * 1024, (stage, ledger["stages"][stage])
