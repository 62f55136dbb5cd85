"""`devicepipe data synth` as a user runs it: bad arguments exit 2 and write nothing; a killed run leaves no
folder; the flights job trains on what it writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.flows.cli.test_cli import assert_user_error, devicepipe


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        (["--rows", "0", "--out", "out"], ["--rows must be at least 1", "found 0"]),
        (["--rows", "-5", "--out", "out"], ["--rows must be at least 1", "found -5"]),
        (["--rows", "10", "--out", "taken.txt"], ["--out must be a new or empty folder", "is a file"]),
        (["--rows", "10", "--out", "full"], ["--out must be a new or empty folder", "holds other files (a.txt)"]),
        (["--rows", "10", "--out", "out", "--seed", "-1"], ["--seed must be 0 or more"]),
    ],
    ids=["rows-0", "rows-negative", "out-is-a-file", "out-holds-files", "seed-negative"],
)
def test_bad_arguments_exit_2_and_write_nothing(tmp_path, args, phrases):
    (tmp_path / "taken.txt").write_text("mine")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.txt").write_text("mine")
    before = _listing(tmp_path)
    result = devicepipe("data", "synth", *args, "--no-progress", cwd=tmp_path)
    assert_user_error(result, *phrases)
    assert _listing(tmp_path) == before  # not even data/ staged
    assert (tmp_path / "taken.txt").read_text() == "mine"


def test_a_missing_rows_option_is_a_usage_error(tmp_path):
    result = devicepipe("data", "synth", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2 and "Missing option '--rows'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_writes_into_an_existing_empty_folder(tmp_path, flights_dir):
    (tmp_path / "out").mkdir()
    args = ["--rows", "1500", "--out", "out", "--partition-rows", "1000", "--seed", "7"]
    result = devicepipe("data", "synth", *args, "--data-dir", str(flights_dir), "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1500 flights in 2 parts" in result.stdout
    assert _listing(tmp_path) == [
        "out",
        "out/flights",
        "out/flights/part-00000.parquet",
        "out/flights/part-00001.parquet",
        "out/planes.parquet",
        "out/synth.json",
        "out/weather.parquet",
    ]
    assert json.loads((tmp_path / "out" / "synth.json").read_text())["seed"] == 7


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_run_killed_half_way_leaves_no_folder(tmp_path, flights_dir, sig):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["data", "synth", "--rows", "5000000", "--out", "out", "--partition-rows", "20000", "--no-progress"]
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args, "--data-dir", str(flights_dir)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.*.tmp/flights/part-00001.parquet")):
        assert process.poll() is None, "the run ended before its second partition"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(sig)
    assert process.wait(timeout=60) != 0
    assert not (tmp_path / "out").exists()
    # SIGTERM cleans up; SIGKILL cannot, and leaves only the hidden temporary folder
    assert len(list(tmp_path.glob(".out.*.tmp"))) == (0 if sig == signal.SIGTERM else 1)


@pytest.mark.slow
def test_the_flights_job_trains_on_synthetic_flights(tmp_path, flights_dir):
    args = ["--rows", "20000", "--out", "synth", "--seed", "1", "--data-dir", str(flights_dir), "--no-progress"]
    assert devicepipe("data", "synth", *args, cwd=tmp_path).returncode == 0
    run = ["run", "--dataset", "flights", "--data", "synth", "--epochs", "1", "--model", "xgboost"]
    run += ["--no-progress", "--backend", "cpu", "--output", "out", "--data-dir", "data"]
    result = devicepipe(*run, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "out" / "latest" / "metrics.json").read_text())
    assert set(metrics["models"]) == {"xgboost", "mlp"}
    assert metrics["models"]["xgboost"]["test"]["auc"] > 0.6
    assert sum(metrics["rows"].values()) < 20000  # cancelled flights dropped
    manifest = json.loads((tmp_path / "out" / "latest" / "manifest.json").read_text())
    assert manifest["config"]["dataset"] == "flights" and manifest["config"]["data"] == "synth"
    assert any("part-00000.parquet" in name for name in manifest["inputs"])
