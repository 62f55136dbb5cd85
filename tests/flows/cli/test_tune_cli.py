"""`devicepipe tune` as a user runs it, then `devicepipe run --params` on its folder; bad input exits 2 first."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import write_table
from tests.flows.cli.test_cli import assert_user_error, devicepipe, manifest_notes


def test_tune_then_a_run_with_its_best_settings(tmp_path):
    table = write_table(tmp_path / "t.csv", 2000)
    common = ("--data", str(table), "--target", "y", "--no-progress")
    tuned = devicepipe("tune", *common, "--model", "xgboost", "--trials", "4", "--study", "s", cwd=tmp_path)
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    folder = tmp_path / "runs" / "tune-s"
    assert "devicepipe run --params runs/tune-s" in tuned.stdout
    assert {p.name for p in folder.iterdir()} == {"study.journal", "trials.csv", "best_params.json", "report.html"}
    assert len(pd.read_csv(folder / "trials.csv")) == 4
    best = json.loads((folder / "best_params.json").read_text())["families"]["xgboost"]
    ran = devicepipe("run", *common, "--model", "xgboost", "--params", "runs/tune-s", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    run_dir = tmp_path / "runs" / "latest"
    (note,) = [n for n in manifest_notes(run_dir) if n.startswith("xgboost trained with the settings tuned in")]
    assert f"runs/tune-s (study 's', trial {best['trial']}" in note and json.dumps(best["settings"]) in note
    assert note in (run_dir / "report.md").read_text()
    metrics = json.loads((run_dir / "metrics.json").read_text())["models"]["xgboost"]["test"]
    assert metrics["auc"] == pytest.approx(best["test"]["auc"], abs=1e-9)  # the same settings, seed and rows
    again = devicepipe("tune", *common, "--model", "xgboost", "--trials", "5", "--study", "s", cwd=tmp_path)
    assert again.returncode == 0 and "xgboost: 1 trial(s) to run (4 done before)" in again.stderr
    other = devicepipe("tune", *common, "--sample", "0.5", "--trials", "5", "--study", "s", cwd=tmp_path)
    assert_user_error(other, "The study 's.xgboost' in runs/tune-s was made on other data or features")
    assert "select-backend" not in other.stderr  # refused before the flow started


def test_trials_in_parallel_processes_with_jobs(tmp_path):
    table = write_table(tmp_path / "t.csv", 2000)
    args = ("--data", str(table), "--target", "y", "--model", "xgboost", "--trials", "4", "--jobs", "2")
    tuned = devicepipe("tune", *args, "--no-progress", cwd=tmp_path)
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    assert "xgboost: 4 trial(s) to run (0 done before), 2 at a time on Dask workers" in tuned.stderr
    trials = pd.read_csv(tmp_path / "runs" / "tune-table" / "trials.csv")
    assert len(trials) == 4 and trials["worker"].str.startswith("tcp://127.0.0.1:").all()
    for noise in ("distributed.", "Warning", "Traceback", "Trial 0 finished"):  # the tune's own lines only
        assert noise not in tuned.stderr


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("--trials", "0"), "--trials must be at least 1"),
        (("--model", "linear_regression"), "'linear_regression' cannot be tuned for classification"),
        (("--timeout", "-1"), "--timeout is a number of seconds above 0"),
        (("--study", "a/b"), "--study names a folder"),
        (("--jobs", "0"), "--jobs is a number of trials at a time, at least 1; found 0"),
        (("--jobs", "512"), "--jobs 512 asks for more trials at a time than this machine's"),
        (("--target", "nope"), "nope"),
    ],
)
def test_bad_tune_input_exits_2_before_any_work(tmp_path, args, phrase):
    table = write_table(tmp_path / "t.csv", 200)
    result = devicepipe("tune", "--data", str(table), "--target", "y", *args, cwd=tmp_path)
    assert_user_error(result, phrase)
    assert not (tmp_path / "runs").exists()


def test_run_params_that_do_not_apply_exit_2(tmp_path):
    table = write_table(tmp_path / "t.csv", 200)
    (tmp_path / "tune-x").mkdir()
    (tmp_path / "tune-x" / "best_params.json").write_text(
        json.dumps({"metric": "auc", "families": {"xgboost": {"settings": {"depth": 3}}}})
    )
    for params, phrase in [("missing", "no best_params.json there"), ("tune-x", "xgboost has no setting 'depth'")]:
        result = devicepipe("run", "--data", str(table), "--target", "y", "--params", params, cwd=tmp_path)
        assert_user_error(result, phrase)
    assert not (tmp_path / "runs").exists()
