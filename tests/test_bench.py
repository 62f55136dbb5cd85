"""`devicepipe bench`: both sides on the same small synthetic flights, one report as a table, JSON and PNG."""

from __future__ import annotations

import json

import pytest

from tests.flows.test_cli import assert_user_error, devicepipe


@pytest.mark.slow
def test_bench_runs_both_sides_and_writes_table_json_and_chart(flights_dir, tmp_path):
    from pipelines.datasets.synth import synthesize

    synthesize(tmp_path / "synth", 20_000, seed=0, data_dir=flights_dir, progress=False)
    result = devicepipe(
        "bench", "--source", str(tmp_path / "synth"), "--out", str(tmp_path / "out"), "--epochs", "1", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "end to end" in result.stdout and "test AUC, naive" in result.stdout
    (report_path,) = (tmp_path / "out").glob("bench-*.json")
    (chart,) = (tmp_path / "out").glob("bench-*.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
    report = json.loads(report_path.read_text())
    rows = {row["step"]: row for row in report["comparison"]["rows"]}
    assert rows["end to end"]["naive"] > 0 and rows["end to end"]["devicepipe"] > 0
    assert rows["xgboost"]["naive"] is None and rows["random_forest"]["devicepipe"] is None
    for side in ("naive", "devicepipe"):
        assert all(0.5 < auc <= 1 for auc in report["comparison"]["auc"][side].values()), report["comparison"]
    assert "load" in report["machine"] and report["machine"]["cores"] >= 1


def test_bench_refuses_a_source_that_is_not_a_folder(tmp_path):
    result = devicepipe("bench", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_user_error(result, "is not a folder")
    assert not (tmp_path / "out").exists()


def test_bench_refuses_an_output_that_is_a_file_before_running(tmp_path):
    (tmp_path / "taken").write_text("mine")
    result = devicepipe("bench", "--source", str(tmp_path), "--out", str(tmp_path / "taken"), cwd=tmp_path)
    assert_user_error(result, "is a file")
    assert (tmp_path / "taken").read_text() == "mine"


@pytest.mark.slow
def test_bench_fixed_cost_breaks_a_tiny_run_down_and_writes_json(tmp_path):
    """`devicepipe bench --fixed-cost`: a real 2,000-row run in a fresh process, its wall time split into parts."""
    result = devicepipe("bench", "--fixed-cost", "--repeat", "1", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = (tmp_path / "out").glob("fixed-cost-*.json")
    report = json.loads(path.read_text())
    (run,) = report["runs"]
    parts = run["seconds"]
    assert set(parts) == {"imports and checks", "server start", "stages", "bookkeeping", "shutdown", "wall"}
    assert all(parts[name] >= 0 for name in ("imports and checks", "server start", "stages", "shutdown"))
    summed = sum(value for name, value in parts.items() if name != "wall")
    assert abs(summed - parts["wall"]) < 0.01, parts
    assert set(run["stages"]) >= {"load", "features", "baselines", "train"}
    assert "Prefect server: started for this run at http://127.0.0.1:" in run["server"]
    assert report["median"]["--help"] > 0 and report["median"]["usage error"] > 0
    assert "imports and checks" in result.stdout and "load average" in result.stdout


def test_bench_fixed_cost_refuses_an_output_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    result = devicepipe("bench", "--fixed-cost", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_user_error(result, "is a file")
