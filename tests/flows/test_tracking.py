"""`devicepipe run --track` against a real `mlflow server` (SQLite store, local artifacts, on 127.0.0.1), read back
through MlflowClient: what a run logs, a server asked for that does not answer (exit 2 before any work), a server
gone by the time the run logs (the run complete, "not tracked" in its notes), and no MLflow import without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.browser import chromium, open_page
from tests.conftest import ROOT, write_table
from tests.dask_cluster import free_port
from tests.flows.cli.test_cli import assert_user_error, devicepipe, manifest_notes
from tests.mlflow_server import start_server
from tests.prefect_server import shared_api_url
from tests.processes import stop_group

pytestmark = pytest.mark.slow


def test_a_tracked_run_logs_its_settings_metrics_curves_inputs_tags_and_report(mlflow_server, tmp_path):
    from mlflow import MlflowClient

    write_table(tmp_path / "t.csv", 2000)
    args = ("--data", "t.csv", "--target", "y", "--model", "xgboost", "--sample", "0.9", "--no-progress")
    result = devicepipe("run", *args, "--track", mlflow_server, "--experiment", "e2e", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "runs" / "latest"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    record = manifest["tracking"]
    assert f"MLflow run: {record['url']}" in result.stdout and record["url"].startswith(mlflow_server)
    client = MlflowClient(mlflow_server)
    run = client.get_run(record["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == manifest["run"]
    assert client.get_experiment(run.info.experiment_id).name == "e2e"
    params = run.data.params
    assert params["target"] == "y" and params["sample"] == "0.9" and params["models"] == '["xgboost"]'
    assert set(manifest["config"]) | {"logged_model"} == set(params)  # every setting, and the logged model's family
    document = json.loads((run_dir / "metrics.json").read_text())
    metrics = document["models"]
    for family, entry in metrics.items():
        for split in ("valid", "test"):
            for name, value in entry[split].items():
                assert run.data.metrics[f"{family}/{split}_{name}"] == pytest.approx(value)
        assert run.data.metrics[f"{family}/threshold"] == pytest.approx(document["thresholds"][family]["value"])
    assert run.data.metrics["trivial_baseline/test_auc"] == 0.5  # the baseline beside the models, to compare in the UI
    assert run.data.metrics["trivial_baseline/test_accuracy"] == pytest.approx(
        document["trivial_baseline"]["test"]["accuracy"]
    )
    history = manifest["training"]["mlp"]["history"]
    curve = client.get_metric_history(run.info.run_id, "mlp/epoch_valid_auc")
    assert [(m.step, m.value) for m in curve] == [(h["epoch"], pytest.approx(h["valid_auc"])) for h in history]
    assert {f"seconds/{stage}" for stage in manifest["seconds"]} <= set(run.data.metrics)
    (dataset,) = run.inputs.dataset_inputs
    (path, digest), *_ = manifest["inputs"].items()
    assert dataset.dataset.digest == digest[:36] and json.loads(dataset.dataset.source)["uri"] == path
    tags = run.data.tags
    assert tags["devicepipe.backend"] == "cpu" and tags["mlflow.source.git.commit"] == manifest["git_commit"]
    assert tags["prefect.flow_run_url"].startswith("http://127.0.0.1") and tags["prefect.flow_run_id"]
    logged = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.html", "manifest.json", "metrics.json", "drift"} <= logged
    assert [a.path for a in client.list_artifacts(run.info.run_id, "drift")] == ["drift/profile.json"]
    best = json.loads((run_dir / "metrics.json").read_text())["best_model"]
    assert record["model"] == {"family": best, "uri": f"runs:/{run.info.run_id}/model", "id": record["model"]["id"]}
    assert params["logged_model"] == best and f"MLflow model: runs:/{run.info.run_id}/model ({best})" in result.stdout
    _shown_in_mlflow_ui(record["url"], metrics, history)


def _shown_in_mlflow_ui(url: str, metrics: dict, history: list[dict]) -> None:
    """The run's page, its learning curves and its report in MLflow's UI, as headless chromium draws them."""
    if chromium() is None:
        pytest.skip("chromium is not installed (apt install chromium)")
    value = metrics["xgboost"]["test"]["auc"]
    page = open_page(url, until=("xgboost/test_auc", repr(value)), timeout=90)
    assert "Finished" in page.text and "xgboost/test_auc" in page.text and repr(value) in page.text, page.text[:2000]
    curves = open_page(f"{url}/model-metrics", until=("epoch_valid_auc",), timeout=90)
    shown = curves.text.split()  # a section per family, a chart per stepped metric
    assert {"mlp", "epoch_valid_auc", "epoch_valid_logloss"} <= set(shown) and len(history) >= 1, curves.text[:2000]
    artifacts = open_page(f"{url}/artifacts", until=("report.html",), timeout=90)
    assert {"report.html", "metrics.json", "drift"} <= set(artifacts.text.split()), artifacts.text[:2000]


def test_a_server_asked_for_that_does_not_answer_is_exit_2_before_any_work(tmp_path):
    write_table(tmp_path / "t.csv", 200)
    dead = f"http://127.0.0.1:{free_port()}"
    result = devicepipe("run", "--data", "t.csv", "--target", "y", "--track", dead, cwd=tmp_path)
    assert_user_error(result, f"--track {dead}: no MLflow tracking server answers there")
    assert not (tmp_path / "runs").exists() and "Flow run" not in result.stderr
    result = devicepipe("run", "--data", "t.csv", "--target", "y", "--experiment", "x", cwd=tmp_path)
    assert_user_error(result, "--experiment 'x' is for MLflow, but tracking is off")
    result = devicepipe("run", "--data", "t.csv", "--target", "y", "--register", "m", cwd=tmp_path)
    assert_user_error(result, "--register 'm' is for MLflow, but tracking is off")
    args = ("--data", "t.csv", "--target", "y", "--model", "xgboost", "--track", "--log-model", "logistic_regression")
    result = devicepipe("run", *args, cwd=tmp_path)
    assert_user_error(result, "--log-model logistic_regression is not fitted by this run")
    result = devicepipe("run", "--data", "t.csv", "--target", "y", "--track", "--register", "a/b", cwd=tmp_path)
    assert_user_error(result, "--register was given 'a/b', and MLflow's model names hold no '/' or ':'")
    args = ("--data", "t.csv", "--target", "y", "--track", "--log-model", "nope")
    result = devicepipe("run", *args, cwd=tmp_path)
    assert_user_error(result, "--log-model 'nope' is no model family of classification")
    result = devicepipe("run", "--data", "t.csv", "--target", "y", "--track", " ", cwd=tmp_path)
    assert_user_error(result, "--track was given an empty URI")
    assert not (tmp_path / "runs").exists()


def test_a_server_gone_before_the_run_logs_leaves_the_run_whole_and_says_not_tracked(tmp_path):
    (tmp_path / "mlflow").mkdir()
    process, url = start_server(tmp_path / "mlflow")
    write_table(tmp_path / "t.csv", 2000)
    args = ["--data", "t.csv", "--target", "y", "--model", "logistic_regression", "--epochs", "20", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_API_URL": shared_api_url()}
    command = [sys.executable, "-m", "flows.cli", "run", *args, "--track", url]
    run = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not list(tmp_path.glob("runs/.incomplete-*/config.json")):  # past its checks, the server answered
            assert run.poll() is None and time.monotonic() < deadline, "the run ended before it started its work"
            time.sleep(0.1)
    finally:
        stop_group(process)  # the server goes away while the run works
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err[-3000:]
    (note,) = [n for n in manifest_notes(tmp_path / "runs" / "latest") if n.startswith("not tracked: ")]
    assert f"could not be logged to {url}" in note and note in out and "Traceback" not in err


def test_without_tracking_mlflow_is_never_imported(tmp_path):
    write_table(tmp_path / "t.csv", 500)
    args = ("--data", "t.csv", "--target", "y", "--model", "logistic_regression", "--epochs", "1", "--no-progress")
    result = devicepipe("run", *args, cwd=tmp_path, env={"MLFLOW_TRACKING_URI": ""}, python=("-X", "importtime"))
    assert result.returncode == 0, result.stderr[-3000:]
    imported = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert len(imported) > 500 and not [line for line in imported if "| mlflow" in line]


def test_track_alone_uses_mlflow_s_local_store_beside_the_runs_folder(tmp_path):
    from mlflow import MlflowClient

    write_table(tmp_path / "t.csv", 500)
    args = ("--data", "t.csv", "--target", "y", "--model", "logistic_regression", "--epochs", "1", "--track")
    result = devicepipe("run", *args, "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())["tracking"]
    assert record["uri"] == f"sqlite:///{tmp_path / 'mlflow.db'}" and record["experiment"] == "table"
    assert f"MLflow run: {record['uri']}, run {record['run_id']}" in result.stdout
    run = MlflowClient(record["uri"]).get_run(record["run_id"])
    assert run.info.status == "FINISHED" and run.info.artifact_uri.startswith((tmp_path / "mlartifacts").as_uri())
    assert (tmp_path / "mlartifacts").is_dir() and not (tmp_path / "mlruns").exists()


def test_two_runs_tracked_at_once_into_one_local_store_are_both_logged(tmp_path):
    from mlflow import MlflowClient

    write_table(tmp_path / "t.csv", 500)
    args = ["--data", "t.csv", "--target", "y", "--model", "logistic_regression", "--epochs", "1", "--track"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_API_URL": shared_api_url()}
    command = [sys.executable, "-m", "flows.cli", "run", *args, "--no-progress"]
    both = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # the first to log creates the store's tables while the other may be at it too
    outs = [run.communicate(timeout=600) for run in both]
    assert [run.returncode for run in both] == [0, 0], [err[-2000:] for _, err in outs]
    assert all("MLflow run: sqlite:///" in out for out, _ in outs)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("table")
    assert len(client.search_runs([experiment.experiment_id])) == 2


def test_a_tracked_tune_is_one_run_for_its_study_with_a_child_run_per_trial(tmp_path):
    from mlflow import MlflowClient

    write_table(tmp_path / "t.csv", 1500)
    args = ("tune", "--data", "t.csv", "--target", "y", "--model", "xgboost", "--track", "--no-progress")
    first = devicepipe(*args, "--trials", "3", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    record = json.loads((tmp_path / "runs" / "tune-table" / "tracking.json").read_text())
    assert record["trials"] == 3 and "(3 trials added as child runs)" in first.stdout
    again = devicepipe(*args, "--trials", "5", cwd=tmp_path)  # the study goes on: two more trials
    assert again.returncode == 0, again.stderr[-3000:]
    assert "(2 trials added as child runs)" in again.stdout
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("table")
    (study,) = client.search_runs([experiment.experiment_id], "tags.`devicepipe.study` = 'table'")
    assert study.info.run_id == record["run_id"] and study.data.params["metric"] == "auc"
    children = client.search_runs([experiment.experiment_id], f"tags.`mlflow.parentRunId` = '{record['run_id']}'")
    trials = pd.read_csv(tmp_path / "runs" / "tune-table" / "trials.csv")
    assert sorted(child.data.tags["devicepipe.trial"] for child in children) == [f"xgboost/{n}" for n in range(5)]
    for child in children:
        row = trials[trials.trial == int(child.data.tags["devicepipe.trial"].split("/")[1])].iloc[0]
        assert child.info.status == {"complete": "FINISHED", "pruned": "KILLED"}[row.state]
        assert child.data.metrics["value"] == pytest.approx(row.value)
        assert float(child.data.params["learning_rate"]) == pytest.approx(row.params_learning_rate)
    best = json.loads((tmp_path / "runs" / "tune-table" / "best_params.json").read_text())["families"]["xgboost"]
    assert study.data.metrics["xgboost/best_valid_auc"] == pytest.approx(best["valid"]["auc"])
    history = client.get_metric_history(record["run_id"], "tunes")
    assert [m.step for m in history] == [0, 1]
    logged = {a.path for a in client.list_artifacts(record["run_id"])}
    assert {"best_params.json", "trials.csv", "report.html"} <= logged
