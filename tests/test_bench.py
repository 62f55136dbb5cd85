"""`devicepipe bench`: the naive way, the peer (Polars + XGBoost), devicepipe's stages and `devicepipe run` on the
same small synthetic flights, one report as a table, JSON and PNG."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.flows.cli.test_cli import assert_user_error, devicepipe


@pytest.mark.slow
def test_bench_runs_three_sides_and_the_run_and_writes_table_json_and_chart(flights_dir, tmp_path):
    from pipelines.datasets.synth import synthesize

    synthesize(tmp_path / "synth", 6000, seed=0, data_dir=flights_dir, progress=False)
    result = devicepipe(
        *("bench", "--source", str(tmp_path / "synth"), "--out", str(tmp_path / "out")),
        *("--epochs", "1", "--naive-epochs", "1", "--model", "xgboost"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for line in ("end to end", "test AUC, naive", "test AUC, polars+xgboost", "test AUC, devicepipe run (end to end)"):
        assert line in result.stdout, result.stdout
    (report_path,) = (tmp_path / "out").glob("bench-*.json")
    (chart,) = (tmp_path / "out").glob("bench-*.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
    report = json.loads(report_path.read_text())
    table, run = report["comparison"], report["devicepipe_run"]
    rows = {row["step"]: row for row in table["rows"]}
    end = rows["end to end"]
    assert all(end[side] > 0 for side in ("naive", "peer", "devicepipe"))
    assert end["vs_peer"] == round(end["devicepipe"] / end["peer"], 2)
    assert end["speedup"] == round(end["naive"] / end["devicepipe"], 2)
    assert rows["xgboost"]["naive"] is None and rows["xgboost"]["peer"] > 0 and rows["xgboost"]["devicepipe"] > 0
    assert rows["random_forest"]["devicepipe"] is None and rows["logistic_regression"]["peer"] is None  # --model
    whole = rows["a fresh process, start to end"]
    assert whole["devicepipe"] == run["wall_seconds"] > sum(run["stage_seconds"].values()) > 0
    assert whole["peer"] == report["peer"]["results"]["start_to_result"] > end["peer"]
    assert whole["naive"] == report["process_seconds"]["naive"] > end["naive"]
    assert run["command"].startswith("devicepipe run --dataset flights --data ") and "--no-cache" in run["command"]
    for side in ("naive", "peer", "devicepipe", "devicepipe_run"):
        assert all(0.5 < auc <= 1 for auc in table["auc"][side].values()), table["auc"]
    assert set(table["auc"]["devicepipe_run"]) == set(table["auc"]["devicepipe"]) == {"xgboost", "mlp"}
    ours = report["devicepipe"]["results"]["by_backend"]["cpu"]
    assert table["auc"]["devicepipe_run"]["xgboost"] == pytest.approx(table["auc"]["devicepipe"]["xgboost"], abs=1e-6)
    assert report["naive"]["results"]["rows"] == report["peer"]["results"]["rows"] == ours["rows"] == run["rows"]
    best = table["best"]
    assert table["auc_minus_peer"]["devicepipe"] == round(best["devicepipe"]["auc"] - best["peer"]["auc"], 4)
    assert "load" in report["machine"] and report["machine"]["cores"] >= 1


def test_bench_without_polars_says_how_to_install_it_before_running(tmp_path):
    (tmp_path / "synth").mkdir()
    args = ["bench", "--source", str(tmp_path / "synth"), "--out", str(tmp_path / "out")]
    code = f"import sys; sys.modules['polars'] = None; from flows.cli import main; main({args!r})"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert_user_error(result, 'pip install -e ".[bench]"')
    assert not (tmp_path / "out").exists()


def test_bench_refuses_a_source_that_is_not_a_folder(tmp_path):
    result = devicepipe("bench", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_user_error(result, "is not a folder")
    assert not (tmp_path / "out").exists()


def test_bench_refuses_an_output_that_is_a_file_before_running(tmp_path):
    (tmp_path / "taken").write_text("mine")
    result = devicepipe("bench", "--source", str(tmp_path), "--out", str(tmp_path / "taken"), cwd=tmp_path)
    assert_user_error(result, "is a file")
    assert (tmp_path / "taken").read_text() == "mine"


def test_fixed_cost_phases_add_up_from_the_marks():
    """One run's marks, as flows/fixed_cost.py writes them, where Prefect starts its temporary server itself."""
    from benchmarks.fixed_cost import ROWS, phases

    marks = {
        "main": 100.2,
        "run": 100.3,
        "flow-call": 103.0,
        "prefect-server-starting": 103.5,
        "flow-run-begins": 107.5,
        "stages-begin": 108.0,
        "stage:load:begin": 108.1,
        "stage:load:end": 108.4,
        "stage:train:begin": 108.6,
        "stage:train:end": 110.6,
        "stages-end": 110.8,
        "run-written": 111.3,
        "flow-returned": 111.5,
    }
    run = {"started": 100.0, "ended": 113.0, "marks": marks, "stage_seconds": {"load": 0.4, "train": 2.1}}
    got = phases(run)
    assert set(got) == {name for name, _ in ROWS}
    assert got["waiting for the Prefect server"] == 4.0 and got["flow start to first stage"] == 1.0
    assert got["stages (the work itself)"] == 2.3 and got["task bookkeeping between stages"] == 0.5
    assert got["process start to first stage"] == 8.0 and got["last stage to exit"] == 2.2
    assert got["shutdown (server stop, exit)"] == 1.5 and got["end to end"] == 13.0
    parts = ["start (interpreter, CLI import)", "imports and input checks", "waiting for the Prefect server"]
    assert sum(got[p] for p in [*parts, "flow start to first stage"]) == pytest.approx(8.0)


@pytest.mark.slow
def test_fixed_cost_bench_times_both_ways_of_finding_a_server(tmp_path):
    result = devicepipe("bench", "--fixed-cost", "--repeat", "1", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "end to end" in result.stdout and "temporary server" in result.stdout
    (path,) = (tmp_path / "out").glob("fixed-cost-*.json")
    report = json.loads(path.read_text())
    for way in ("temporary", "running"):
        medians = report["medians"][way]
        assert all(value is not None for value in medians.values()), (way, medians)
        first = ["start (interpreter, CLI import)", "imports and input checks", "waiting for the Prefect server"]
        first += ["flow start to first stage"]
        assert sum(medians[p] for p in first) == pytest.approx(medians["process start to first stage"], abs=0.01)
        last = ["writing the run directory", "flow end (artifact, final state)", "shutdown (server stop, exit)"]
        assert sum(medians[p] for p in last) == pytest.approx(medians["last stage to exit"], abs=0.01)
        assert medians["stages (the work itself)"] > 0 and medians["end to end"] > medians["stages (the work itself)"]
    assert report["runs"]["running"][0]["marks"].get("prefect-server-starting") is None  # it used the running one
    assert set(report["usage_seconds"]) == {"--help", "run --bogus", "run --epochs abc", "run --epochs 0"}


def test_bench_fixed_cost_refuses_an_output_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    result = devicepipe("bench", "--fixed-cost", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_user_error(result, "is a file")
