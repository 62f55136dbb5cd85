"""The devicepipe command as a user runs it: bad input exits 2 with one message and writes nothing;
your own CSV trains a regression end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.prefect_server import shared_api_url


def devicepipe(*args: str, cwd, env: dict[str, str] | None = None, python: tuple[str, ...] = ()):
    """The command in a fresh process, against this test process's running Prefect server (the temporary server
    each command would start otherwise is tested in tests/flows/server/); `env`: more variables, `python`: the
    interpreter's own options."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_API_URL": shared_api_url(), **(env or {})}
    command = [sys.executable, *python, "-m", "flows.cli", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def manifest_notes(run_dir) -> list[str]:
    return json.loads((run_dir / "manifest.json").read_text())["notes"]


def assert_user_error(result, *phrases):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "\nerror: " in "\n" + result.stderr
    for phrase in phrases:
        assert phrase in result.stderr


@pytest.fixture
def table(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    return path


def test_missing_file(tmp_path):
    result = devicepipe("run", "--data", "nowhere.csv", "--target", "y", cwd=tmp_path)
    assert_user_error(result, "nowhere.csv does not exist")
    assert list(tmp_path.iterdir()) == []


def test_target_not_a_column(tmp_path, table):
    result = devicepipe("run", "--data", str(table), "--target", "price", cwd=tmp_path)
    assert_user_error(result, "'price'", "x, y")
    assert not (tmp_path / "runs").exists()


def test_corrupt_parquet(tmp_path, table):
    table.write_bytes(table.read_bytes()[:100])
    result = devicepipe("run", "--data", str(table), "--target", "y", cwd=tmp_path)
    assert_user_error(result, "not a readable Parquet file")
    assert not (tmp_path / "runs").exists()


def test_data_without_target(tmp_path, table):
    assert_user_error(devicepipe("run", "--data", str(table), cwd=tmp_path), "--target")


def test_gpu_backend_without_gpu(tmp_path, table):
    from pipelines.backend import gpu_unusable_reason

    if gpu_unusable_reason() is None:
        pytest.skip("a GPU is usable here")
    result = devicepipe("run", "--data", str(table), "--target", "y", "--backend", "gpu", cwd=tmp_path)
    assert_user_error(result, "no usable GPU", "--backend cpu")


@pytest.mark.slow
def test_own_csv_regression(tmp_path):
    """A real table (scikit-learn's diabetes data) with a string column and an ID column added."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame.insert(0, "patient_id", range(1000, 1000 + len(frame)))
    frame["group"] = pd.cut(frame["age"], 3, labels=["young", "middle", "old"]).astype(str)
    frame.loc[::17, "bmi"] = None
    path = tmp_path / "diabetes.csv"
    frame.to_csv(path, index=False)
    result = devicepipe(
        "run",
        "--data",
        str(path),
        "--target",
        "target",
        "--task",
        "regression",
        "--epochs",
        "3",
        "--no-progress",
        "--output",
        "out",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test rmse" in result.stdout and "run directory:" in result.stdout
    run_dir = tmp_path / "out" / "latest"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["target"] == "target"
    assert set(metrics["models"]) == {"linear_regression", "xgboost", "mlp"}  # the forest: on the GPU by default
    assert any("random_forest is fitted by default on the GPU backend only" in n for n in manifest_notes(run_dir))
    assert set(metrics["models"]["xgboost"]["test"]) == {"rmse", "mae", "r2"}
    assert metrics["models"]["linear_regression"]["test"]["r2"] > 0.2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert any("'patient_id'" in note and "ID" in note for note in manifest["notes"])
    assert "patient_id" not in manifest["features"]["numeric"] + manifest["features"]["categorical"]
    assert "group" in manifest["features"]["categorical"]
    assert sum(metrics["rows"].values()) == len(frame)
    new = ("predict", "--from", str(run_dir), "--data", str(path), "--out", "p.parquet", "--backend", "cpu")
    assert_user_error(devicepipe(*new, "--threshold", "0.3", cwd=tmp_path), "this run is a regression")
    assert not (tmp_path / "p.parquet").exists()


def test_bad_target_found_inside_the_flow(tmp_path):
    """A three-class target is only seen once the data is loaded, inside the flow: still exit 2, no traceback."""
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": range(30), "y": ["a", "b", "c"] * 10}).to_csv(path, index=False)
    result = devicepipe("run", "--data", str(path), "--target", "y", "--no-progress", cwd=tmp_path)
    assert_user_error(result, "exactly 2 classes", "found 3")
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_kill_9_during_training_then_resume(tmp_path, flights_dir):
    """A run killed with SIGKILL mid-training keeps its checkpoint; --resume finishes it from there."""
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    args = [
        "run",
        "--sample",
        "0.05",
        "--epochs",
        "3",
        "--model",
        "xgboost",
        "--no-progress",
        "--data-dir",
        str(flights_dir),
        "--output",
        "runs",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob("runs/.incomplete-*/checkpoints/mlp.pt")):
        assert process.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    (staging,) = tmp_path.glob("runs/.incomplete-*")
    assert not (tmp_path / "runs" / "latest").exists()

    result = devicepipe("run", "--resume", str(staging), "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())
    assert manifest["training"]["mlp"]["resumed_from_epoch"] >= 1
    assert manifest["config"]["sample"] == 0.05 and manifest["config"]["models"] == ["xgboost"]
    assert not staging.exists()

    again = devicepipe("run", "--resume", str(tmp_path / "runs" / "latest"), cwd=tmp_path)
    assert_user_error(again, "a complete run")


USAGE_ERRORS = [
    ["run", "--bogus"],
    ["run", "--task", "foo"],
    ["run", "--backend", "tpu"],
    ["run", "--epochs"],
    ["run", "--epochs", "abc"],
    ["run", "--sample"],
    ["predict"],
    ["predict", "--from"],
    ["nonsense"],
    ["data", "stage", "--bogus"],
    ["serve", "--limit", "x"],
    ["trigger"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_every_usage_error_exits_2_with_the_usage_and_no_traceback(args, tmp_path):
    """Through a real process, with the typer/click a fresh install resolves (typer carries its own click)."""
    result = devicepipe(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Error" in result.stderr and ("Usage: devicepipe" in result.stderr or "--help" in result.stderr)
    assert list(tmp_path.iterdir()) == []


def test_the_backend_is_selected_once_with_the_memory_settings(tmp_path, monkeypatch, prefect_harness):
    """The CLI's early check and the flow ask for the same selection: GPU memory settings included, since on a
    GPU they are fixed by the first selection of the process (before its first cuDF object)."""
    from flows.cli import main
    from pipelines import backend as backends

    calls = []
    real = backends.select

    def spy(requested="auto", **settings):
        calls.append(settings)
        return real(requested, **settings)

    monkeypatch.setattr(backends, "select", spy)
    table = tmp_path / "t.csv"
    pd.DataFrame({"x": [i / 7 for i in range(200)], "y": [0, 1] * 100}).to_csv(table, index=False)
    args = ["run", "--data", str(table), "--target", "y", "--epochs", "1", "--model", "logistic_regression"]
    args += ["--no-progress", "--spill", "--rmm-pool", "--backend", "cpu", "--output", str(tmp_path / "runs")]
    args += ["--data-dir", str(tmp_path / "data")]
    with pytest.raises(SystemExit) as exit_code:
        main(args)
    assert exit_code.value.code == 0
    assert len(calls) >= 2 and all(call == {"rmm_pool": True, "spill": True} for call in calls), calls
