"""The GPU path. `gpu`: needs a CUDA device (torch); `rapids`: needs cuDF/cuML too.
Each test skips with the reason where no GPU is usable; CI has none, so they run on a GPU machine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines import evaluate
from pipelines.features import Part
from pipelines.training.loader import DeviceLoader
from pipelines.training.train import train_mlp
from pipelines.training.types import DeviceData, TrainConfig

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
    from pipelines.training.handoff import to_torch

    frame = gpu.df.DataFrame({"a": np.arange(1000, dtype="float32"), "b": np.arange(1000, dtype="int32")})
    tensors, check = to_torch(frame, ["a", "b"], gpu)
    assert check.zero_copy
    for column, tensor in tensors.items():
        assert tensor.device.type == "cuda"
        assert tensor.data_ptr() == gpu.column_address(frame[column])


@pytest.mark.rapids
def test_flights_features_match_between_backends(gpu, cpu, flights_dir):
    from pipelines.data.load import load, resolve
    from pipelines.data.split import time_split
    from pipelines.datasets import flights
    from pipelines.datasets import flights_context as context

    def features(backend):
        raw = flights_dir / "raw"
        tables = {n: load(resolve(raw / f"{n}.parquet"), backend) for n in ("flights", "weather", "planes")}
        tables["flights"] = tables["flights"].iloc[::50].reset_index(drop=True)
        prepared = context.prepare(tables["flights"], tables["weather"], tables["planes"], backend)
        parts = time_split(prepared.frame, flights.TIME_COLUMN, flights.VALID_START, flights.TEST_START)
        workflow = flights.workflow().fit(parts["train"])
        return backend.to_pandas(workflow.transform(parts["test"]))

    on_cpu, on_gpu = features(cpu), features(gpu)
    assert list(on_cpu.columns) == list(on_gpu.columns)
    pd.testing.assert_frame_equal(on_cpu, on_gpu, check_exact=False, rtol=1e-5, atol=1e-5)


@pytest.mark.rapids
@pytest.mark.cuml
def test_baselines_on_gpu(gpu):
    from pipelines import models
    from pipelines.data.split import Part
    from pipelines.features import FillMissing, Workflow
    from pipelines.training.types import DeviceData

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=3000).astype("float32"), "b": rng.normal(size=3000).astype("float32")})
    y = pd.Series((X["a"] > 0).astype("float32"))
    Xg, yg = gpu.from_pandas(X), gpu.df.Series(y)
    workflow = Workflow([FillMissing(["a", "b"], indicator=False)]).fit(Part("train", X))
    y_tensor = torch.from_dlpack(yg.values)
    split = models.Split(Xg, yg, DeviceData(torch.empty((3000, 0), device="cuda"), torch.empty((3000, 0)), y_tensor))
    for name in models.names("classification", "baselines"):
        model = models.FAMILIES[name]("classification", gpu, workflow)
        model.fit(split, split, models.FitOptions())
        scores = model.predict(split)
        assert scores.device.type == "cuda"
        assert float(evaluate.auc(y_tensor, scores)) > 0.9


@pytest.mark.rapids
@pytest.mark.cuml
@pytest.mark.slow
def test_flow_on_gpu_backend(gpu, flights_dir, tmp_path):
    import json
    from pathlib import Path

    from prefect.testing.utilities import prefect_test_harness

    from flows.train import train
    from pipelines.config import RunConfig

    with prefect_test_harness():
        run = Path(
            train(
                RunConfig(sample=0.05, epochs=2, output=str(tmp_path), data_dir=str(flights_dir), backend="gpu"),
                progress=False,
            )
        )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["backend"] == "gpu"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["handoff"]["zero_copy"] is True
    ledger = manifest["residency"]
    assert ledger["enabled"] is True
    assert ledger["sees_copies"] is True, ledger["calibration"]  # else the zeros below would prove nothing
    # Only scalars (null counts, per-epoch metrics) may come back from the device in these stages.
    for stage in ("handoff", "train"):
        assert ledger["stages"][stage]["device_to_host_bytes"] < 64 * 1024, (stage, ledger["stages"][stage])
    # The report, drawn after training from the run's device predictions: TreeSHAP on the GPU, the null shares.
    report = (run / "report.md").read_text()
    assert "### xgboost: TreeSHAP" in report and "### mlp: permutation" in report
    assert "Share of nulls per loaded column" in report and (run / "report.html").exists()


# --- feature ops: CPU vs GPU parity, one test per op (hashed Categorify codes differ by design) -----------------
def _comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns an op wrote, with strings and nulls spelled alike for pandas and cuDF's to_pandas."""
    out = frame[columns].reset_index(drop=True).copy()
    for column in columns:
        if not pd.api.types.is_numeric_dtype(out[column].dtype):
            out[column] = out[column].astype(object).where(out[column].notna(), None).astype(str)
        else:
            out[column] = out[column].astype("float64")
    return out


def _feature_op_names() -> list[str]:
    from tests.pipelines.features.test_ops import CASES

    return sorted(CASES)


@pytest.mark.rapids
@pytest.mark.parametrize("name", _feature_op_names())
def test_feature_op_matches_between_backends(gpu, cpu, name):
    from tests.pipelines.features import test_ops as cases

    make = cases.CASES[name][0]
    frames = {"train": cases._train, "new": cases._new_rows, "nulls": cases._nulls}

    def run(backend):
        op = make().fit(backend.from_pandas(cases._train()))
        outs = {key: backend.to_pandas(op.transform(backend.from_pandas(f()))) for key, f in frames.items()}
        outs["train (out-of-fold)"] = backend.to_pandas(op.transform_train(backend.from_pandas(cases._train())))
        return op, outs

    on_cpu, cpu_outs = run(cpu)
    on_gpu, gpu_outs = run(gpu)
    assert on_gpu.outputs_ == on_cpu.outputs_
    assert on_gpu.cardinalities == on_cpu.cardinalities
    for key, expected in cpu_outs.items():
        source = frames["train" if key.startswith("train") else key]()
        written = [c for c in expected.columns if c not in source.columns or c in on_cpu.outputs_]
        assert list(gpu_outs[key].index) == list(expected.index), key  # row order kept after cuDF merges
        for column, kind in on_cpu.outputs_.items():
            assert str(gpu_outs[key][column].dtype) == str(expected[column].dtype), (key, column, kind)
        pd.testing.assert_frame_equal(
            _comparable(gpu_outs[key], written), _comparable(expected, written), rtol=1e-5, atol=1e-6, obj=key
        )


@pytest.mark.rapids
def test_hashed_categorify_on_gpu_is_in_range_stable_and_refused_across_backends(gpu):
    from pipelines.errors import ConfigError
    from pipelines.features import Categorify

    train = pd.DataFrame({"c": ["x"] * 4 + ["y"] * 3 + ["z", "w"]})
    op = Categorify(["c"], max_categories=2, hash_buckets=5).fit(gpu.from_pandas(train))
    assert op.hasher_ == "cudf"
    new = pd.DataFrame({"c": ["x", "z", "never", None, "z"]})
    codes = gpu.to_pandas(op.transform(gpu.from_pandas(new)))["c"].tolist()
    assert codes[0] == 1 and codes[3] == 0 and codes[1] == codes[4]
    assert all(3 <= code < op.cardinalities["c"] for code in (codes[1], codes[2]))
    with pytest.raises(ConfigError, match="hashes"):
        op.transform(new)  # a pandas frame: pandas hashes differently


@pytest.mark.rapids
def test_workflow_fitted_on_gpu_loads_and_transforms_alike_on_cpu(gpu, tmp_path):
    from pipelines.features import Workflow
    from tests.pipelines.features.test_workflow import _labelled, _table_workflow, _unseen_rows

    workflow = _table_workflow()
    workflow.ops[7].hash_buckets = 0  # hashed codes are backend-specific
    workflow.fit(Part("train", gpu.from_pandas(_labelled())))
    on_gpu = gpu.to_pandas(workflow.transform(gpu.from_pandas(_unseen_rows())))
    loaded = Workflow.load(workflow.save(tmp_path / "workflow.json"))
    pd.testing.assert_frame_equal(loaded.transform(_unseen_rows()), on_gpu, rtol=1e-5, atol=1e-6)
    on_gpu_again = gpu.to_pandas(loaded.transform(gpu.from_pandas(_unseen_rows())))
    pd.testing.assert_frame_equal(on_gpu_again, on_gpu, rtol=1e-5, atol=1e-6)


@pytest.mark.rapids
def test_a_sample_keeps_the_same_rows_on_both_backends(gpu, cpu):
    from pipelines.data.split import sample_rows

    frame = pd.DataFrame({"a": np.arange(5000, dtype="int64"), "b": np.arange(5000) * 0.5})
    on_cpu, on_gpu = sample_rows(frame, 0.1, 7), sample_rows(gpu.from_pandas(frame), 0.1, 7)
    pd.testing.assert_frame_equal(on_cpu, gpu.to_pandas(on_gpu))


@pytest.mark.rapids
@pytest.mark.cuml
@pytest.mark.slow
def test_the_same_sample_gives_the_same_rows_and_features_and_comparable_metrics_on_both_backends(
    gpu, cpu, flights_dir
):
    """Stage by stage through both backends (as benchmarks.stages runs them): equal rows and feature counts,
    the same zero-copy handoff, and test AUCs within 0.02 (cuML's and scikit-learn's solvers and forests differ;
    XGBoost's hist on cuda and cpu nearly agree), 0.03 for the MLP."""
    from benchmarks.stages import time_stages
    from pipelines.config import RunConfig

    config = RunConfig(data_dir=str(flights_dir), sample=0.1, epochs=2, cache=False)
    on_cpu, on_gpu = time_stages(config, cpu), time_stages(config, gpu)
    assert on_cpu["rows"] == on_gpu["rows"] and on_cpu["features"] == on_gpu["features"]
    assert on_cpu["handoff_zero_copy"] and on_gpu["handoff_zero_copy"]
    assert set(on_cpu["models"]) == set(on_gpu["models"])
    for model, score in on_cpu["models"].items():
        cpu_auc, gpu_auc = score["test"]["auc"], on_gpu["models"][model]["test"]["auc"]
        # The MLP's batches come from torch's CUDA generator and train in bf16 there: a looser bound.
        assert abs(cpu_auc - gpu_auc) < (0.03 if model == "mlp" else 0.02), (model, cpu_auc, gpu_auc)
    assert on_gpu["residency"]["sees_copies"] is True
    assert on_gpu["residency"]["stages"]["train"]["device_to_host_bytes"] < 64 * 1024
