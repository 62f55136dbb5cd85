"""A tracked run's model in MLflow, against a real `mlflow server`: logged as a pyfunc model that scores as `devicepipe
predict` does (in a fresh process, and served by `mlflow models serve`), registered with --register, the champion
alias kept by a version that does not beat it, and `devicepipe predict --from models:/NAME@champion`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest

from tests.conftest import write_table
from tests.dask_cluster import free_port
from tests.flows.cli.test_cli import assert_user_error, devicepipe
from tests.mlflow_server import MLFLOW
from tests.processes import stop_group

pytestmark = pytest.mark.slow
NAME = "delays"
# A fresh interpreter, as a user elsewhere would: the model by its URI, a frame of new rows, the predictions.
SCORE = """
import sys, mlflow, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
params = {"threshold": float(sys.argv[4])} if len(sys.argv) > 4 else None
model.predict(pd.read_csv(sys.argv[2]), params=params).to_parquet(sys.argv[3])
"""


def _run(tmp_path, server: str) -> tuple[subprocess.CompletedProcess, dict]:
    args = ("--data", "t.csv", "--target", "y", "--model", "xgboost", "--epochs", "2", "--no-progress")
    result = devicepipe("run", *args, "--track", server, "--register", NAME, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())["tracking"]


def test_a_registered_model_scores_as_predict_does_and_keeps_its_alias_until_beaten(mlflow_server, tmp_path):
    from mlflow import MlflowClient

    write_table(tmp_path / "t.csv", 2000)
    write_table(tmp_path / "new.csv", 300)
    first, record = _run(tmp_path, mlflow_server)
    run_id = record["run_id"]
    assert record["registered"] == {
        "name": NAME,
        "version": 1,
        "champion": True,
        "why": f"the first champion of {NAME}",
    }
    assert f"registered: {NAME} version 1, now {NAME}@champion" in first.stdout
    client = MlflowClient(mlflow_server)
    assert client.get_registered_model(NAME).aliases == {"champion": "1"}
    metrics = json.loads((tmp_path / "runs" / "latest" / "metrics.json").read_text())
    tags = client.get_model_version(NAME, "1").tags
    assert tags["devicepipe.metric"] == "auc"
    assert float(tags["devicepipe.valid_value"]) == metrics["models"]["xgboost"]["valid"]["auc"]

    result = devicepipe(
        "predict", "--from", "runs/latest", "--data", "new.csv", "--out", "by-run.parquet", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    expected = pd.read_parquet(tmp_path / "by-run.parquet")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server}
    command = [sys.executable, "-c", SCORE, f"runs:/{run_id}/model", str(tmp_path / "new.csv"), "pyfunc.parquet"]
    scored = subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert scored.returncode == 0, scored.stderr[-3000:]
    _same(pd.read_parquet(elsewhere / "pyfunc.parquet"), expected)
    chosen = metrics["thresholds"]["xgboost"]["value"]  # the run's cut, as the `threshold` parameter
    scored = subprocess.run(
        [*command, str(chosen)], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert scored.returncode == 0, scored.stderr[-3000:]
    args = ("--data", "new.csv", "--out", "chosen.parquet", "--threshold", "chosen")
    result = devicepipe("predict", "--from", "runs/latest", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    _same(pd.read_parquet(elsewhere / "pyfunc.parquet"), pd.read_parquet(tmp_path / "chosen.parquet"))

    again, record = _run(tmp_path, mlflow_server)  # the same data and settings: a tie, which does not beat
    assert record["registered"]["version"] == 2 and not record["registered"]["champion"]
    assert f"registered: {NAME} version 2, not champion: valid auc" in again.stdout and "does not beat" in again.stdout
    assert client.get_registered_model(NAME).aliases == {"champion": "1"}

    args = ("--data", "new.csv", "--out", "by-alias.parquet", "--track", mlflow_server)
    result = devicepipe("predict", "--from", f"models:/{NAME}@champion", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "300 predictions from xgboost" in result.stdout
    _same(pd.read_parquet(tmp_path / "by-alias.parquet"), expected)
    assert (tmp_path / "by-alias.drift.json").exists() and not (tmp_path / "mlflow.db").exists()

    result = devicepipe("predict", "--from", f"models:/{NAME}@nope", *args, cwd=tmp_path)
    assert_user_error(result, f"--model models:/{NAME}@nope: MLflow at {mlflow_server} has no such model")
    result = devicepipe("predict", "--from", f"models:/{NAME}@champion", *args[:4], cwd=tmp_path / "elsewhere")
    assert_user_error(result, f"No MLflow store at {tmp_path / 'elsewhere' / 'mlflow.db'}")
    assert not (tmp_path / "elsewhere" / "mlflow.db").exists()


def test_the_score_flow_logs_a_scoring_beside_the_run_that_trained_its_model(prefect_harness, mlflow_server, tmp_path):
    from mlflow import MlflowClient

    from flows.score import score

    write_table(tmp_path / "t.csv", 2000)
    write_table(tmp_path / "new.csv", 400)
    args = ("--data", "t.csv", "--target", "y", "--model", "logistic_regression", "--epochs", "1", "--no-progress")
    result = devicepipe("run", *args, "--track", mlflow_server, "--experiment", "scored", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    trained = json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())["tracking"]
    out = tmp_path / "scores.parquet"
    model = str(tmp_path / "runs" / "latest")
    score(str(tmp_path / "new.csv"), model=model, out=str(out), backend="cpu", track=mlflow_server)
    report = json.loads((tmp_path / "scores.drift.json").read_text())
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("scored")
    (run,) = client.search_runs([experiment.experiment_id], "tags.`devicepipe.kind` = 'score'")
    assert run.info.status == "FINISHED" and run.info.run_name == "score scores"
    assert run.data.tags["devicepipe.trained_in"] == trained["run_id"]
    assert run.data.metrics["rows_scored"] == 400 and run.data.params["out"] == str(out)
    assert run.data.params["threshold"] == "0.5"  # where its probabilities became classes (the default)
    for column, entry in report["columns"].items():
        assert run.data.metrics[f"psi/{column}"] == pytest.approx(entry["psi"])
    (family,) = report["predictions"]
    assert run.data.metrics[f"psi/prediction_{family}"] == pytest.approx(report["predictions"][family]["psi"])
    assert run.data.metrics["drift_alerts"] == len(report["alerts"])
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["scores.drift.json"]


def test_mlflow_models_serve_serves_a_logged_model(mlflow_server, tmp_path):
    write_table(tmp_path / "t.csv", 2000)
    write_table(tmp_path / "new.csv", 50)
    args = ("--data", "t.csv", "--target", "y", "--model", "logistic_regression", "--epochs", "1", "--no-progress")
    result = devicepipe("run", *args, "--track", mlflow_server, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_id = json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())["tracking"]["run_id"]
    result = devicepipe("predict", "--from", "runs/latest", "--data", "new.csv", "--out", "p.parquet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]

    port = free_port()
    command = [str(MLFLOW), "models", "serve", "-m", f"runs:/{run_id}/model", "--env-manager", "local"]
    path = f"{MLFLOW.parent}{os.pathsep}{os.environ.get('PATH', '')}"  # the environment activated: its uvicorn
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "PATH": path}
    with open(tmp_path / "serve.log", "w") as log:
        server = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}/ping", server, tmp_path / "serve.log")
        rows = json.loads(pd.read_csv(tmp_path / "new.csv").to_json(orient="split", index=False))
        served = _invoke(port, {"dataframe_split": rows})
        cut = _invoke(port, {"dataframe_split": rows, "params": {"threshold": 0.7}})  # as predict --threshold 0.7
    finally:
        stop_group(server)
    expected = pd.read_parquet(tmp_path / "p.parquet")
    _same(served, expected)
    assert cut["prediction"].tolist() == (expected["probability"] >= 0.7).astype(int).tolist()


def _invoke(port: int, payload: dict) -> pd.DataFrame:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations", json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return pd.DataFrame(json.loads(response.read())["predictions"])


def _same(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(found.columns) == ["probability", "prediction"] and len(found) == len(expected)
    assert np.allclose(found["probability"], expected["probability"], atol=1e-6)
    assert (found["prediction"].to_numpy() == expected["prediction"].to_numpy()).all()


def _wait_for(url: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in 240 s: {log.read_text()[-3000:]}")
