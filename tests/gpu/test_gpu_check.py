"""The tiered GPU check (benchmarks/gpu_check.sh) and its first tier's training benchmark, run on this CPU machine:
each step's result is written as the step ends, a step that cannot fit in the budget is skipped, not started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import train_cuda
from pipelines.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"


def _check(tier: str, out: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, **env}
    return subprocess.run(["bash", str(SCRIPT), tier], cwd=ROOT, env=environment, capture_output=True, text=True)


def _steps(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]


def test_an_unknown_tier_is_a_usage_error(tmp_path):
    done = _check("5", tmp_path / "out")
    assert done.returncode == 2 and "usage: bash benchmarks/gpu_check.sh 1|2|3" in done.stderr
    assert not (tmp_path / "out").exists()


def test_steps_that_do_not_fit_the_budget_are_skipped_and_recorded(tmp_path):
    done = _check("3", tmp_path, DEVICEPIPE_CHECK_BUDGET_S="5")
    assert done.returncode == 0, done.stderr
    steps = _steps(tmp_path)
    assert [s["step"] for s in steps] == ["tests-tier3", "stages-all"]
    assert all(s["tier"] == 3 and "exceeds the" in s["skipped"] for s in steps)


@pytest.mark.slow
def test_tier_one_without_a_gpu_records_every_step_with_its_exit_code(tmp_path):
    done = _check("1", tmp_path, DEVICEPIPE_CHECK_SCALE="0.5", DEVICEPIPE_CHECK_ONLY="tests-tier1,train-cuda")
    assert done.returncode == 0, done.stderr
    steps = {s["step"]: s for s in _steps(tmp_path)}
    assert list(steps) == ["tests-tier1", "loader", "train-cuda", "synth-10m", "stages-10m-cpu"]
    assert steps["loader"]["skipped"] == steps["synth-10m"]["skipped"] == "not in DEVICEPIPE_CHECK_ONLY"
    assert steps["tests-tier1"]["rc"] == 0  # every GPU test skips with its reason where there is no GPU
    assert "skipped" in (tmp_path / "tests-tier1.txt").read_text()
    assert steps["train-cuda"]["rc"] == 2 and steps["train-cuda"]["json"] is None
    assert "needs a CUDA build of torch" in (tmp_path / "train-cuda.txt").read_text()
    assert (tmp_path / "gpu-tier1.csv").exists() and (tmp_path / "freeze-tier1.txt").read_text()


def test_the_training_benchmark_trains_and_scores_the_mlp_from_the_cpu_handoff(flights_dir, tmp_path):
    options = ["--device", "cpu", "--sample", "0.03", "--epochs", "1", "--data-dir", str(flights_dir)]
    run = train_cuda.main([*options, "--json", str(tmp_path / "run.json")])
    row = run["results"]["by_device"]["cpu"]
    assert row["copy_bytes"] == 0  # already on the CPU: nothing copied
    assert len(row["epoch_seconds"]) == 1 and row["test"]["auc"] > 0.6
    assert json.loads((tmp_path / "run.json").read_text())["results"]["by_device"]["cpu"]["test"] == row["test"]


def test_the_training_benchmark_refuses_cuda_where_there_is_none():
    if __import__("torch").cuda.is_available():
        pytest.skip("a CUDA device is usable here")
    with pytest.raises(ConfigError, match="--device cuda needs"):
        train_cuda.main(["--device", "cuda"])
