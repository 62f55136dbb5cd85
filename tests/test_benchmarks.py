"""Smoke test of the benchmarks at a tiny size: each runs and writes the JSON it promises. No timing asserts."""

from __future__ import annotations

import json

import pytest

from benchmarks import handoff, loader
from pipelines.errors import ConfigError


def _positive(value) -> bool:
    return isinstance(value, int | float) and value > 0


def _check_record(path, benchmark: str) -> dict:
    run = json.loads(path.read_text())
    assert {"benchmark", "command", "date", "machine", "settings", "results"} <= set(run)
    assert run["benchmark"] == benchmark
    assert run["command"].startswith(f"python -m benchmarks.{benchmark} ")
    assert {"cpu", "cores", "memory_gib", "torch_threads", "versions", "device"} <= set(run["machine"])
    assert "torch" in run["machine"]["versions"]
    return run


def test_loader_benchmark_writes_rows_per_second_and_the_ratio(tmp_path):
    path = tmp_path / "loader.json"
    tiny = "--rows 10000 --features 4 --batch-size 1000 --repeats 2 --naive-batches 3 --warmup-batches 1"
    returned = loader.main([*tiny.split(), "--json", str(path)])
    run = _check_record(path, "loader")
    assert run["results"] == json.loads(json.dumps(returned["results"]))
    results = run["results"]
    for name in ("naive", "ours"):
        assert _positive(results[name]["rows_per_s"])
        assert _positive(results[name]["best_rows_per_s"])
        assert _positive(results[name]["epoch_seconds"])
    assert [r["rows"] for r in results["naive"]["runs"]] == [3000]  # only the batches asked for
    assert results["naive"]["epoch_seconds_extrapolated"] is True
    assert [r["rows"] for r in results["ours"]["runs"]] == [10000, 10000]  # full epochs
    assert _positive(results["ratio"])
    assert run["settings"]["rows"] == 10000


def test_handoff_benchmark_writes_seconds_per_row_count(tmp_path):
    path = tmp_path / "handoff.json"
    handoff.main(["--rows", "20000", "2000", "--columns", "3", "--repeats", "2", "--json", str(path)])
    results = _check_record(path, "handoff")["results"]
    names = {"to_torch", "to_torch_trusted", "null_check", "views", "copy_matrix", "copy_columns"}
    assert [m["rows"] for m in results["by_rows"]] == [2000, 20000]
    for measured in results["by_rows"]:
        assert measured["zero_copy"] is True
        assert set(measured["median_seconds"]) == names
        assert all(_positive(s) for s in measured["median_seconds"].values())
        assert all(len(times) == 2 for times in measured["seconds"].values())
    assert set(results["growth"]) == names
    assert results["rows_ratio"] == 10
    assert all(_positive(r) for r in results["copy_matrix_over_to_torch"].values())


def test_stages_benchmark_writes_seconds_metrics_and_ledger_per_backend(tmp_path, flights_dir):
    from benchmarks import stages

    path = tmp_path / "stages.json"
    tiny = ["--sample", "0.02", "--epochs", "1", "--models", "logistic_regression", "--data-dir", str(flights_dir)]
    stages.main([*tiny, "--json", str(path)])
    run = _check_record(path, "stages")
    result = run["results"]["by_backend"]["cpu"]
    assert list(result["seconds"]) == list(stages.NAMES)
    assert all(s >= 0 for s in result["seconds"].values()) and _positive(result["total_seconds"])
    assert set(result["models"]) == {"logistic_regression", "mlp"}
    assert all(0.5 < m["test"]["auc"] <= 1 for m in result["models"].values())
    assert result["handoff_zero_copy"] is True
    assert result["residency"]["enabled"] is False  # no device, no copies to count
    assert result["rows"]["train"] > result["rows"]["valid"] > 0
    assert "ratio" not in run["results"]  # one backend: nothing to compare


def test_stages_benchmark_through_the_features_only(tmp_path, flights_dir, capsys):
    from benchmarks import stages

    path = tmp_path / "stages.json"
    stages.main(["--sample", "0.02", "--through", "features", "--data-dir", str(flights_dir), "--json", str(path)])
    result = _check_record(path, "stages")["results"]["by_backend"]["cpu"]
    assert list(result["seconds"]) == ["load", "split", "features"] and result["through"] == "features"
    assert result["models"] == {} and result["rows"]["train"] > result["rows"]["valid"] > 0
    assert "through the features only" in capsys.readouterr().out


def test_stages_benchmark_refuses_a_bad_option_before_any_worker(tmp_path, capsys):
    from benchmarks import stages

    with pytest.raises(ConfigError, match="--sample is a fraction"):
        stages.main(["--sample", "2", "--json", str(tmp_path / "x.json")])
    assert not (tmp_path / "x.json").exists()
