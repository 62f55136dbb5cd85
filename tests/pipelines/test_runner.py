"""`pipelines.runner.train`: a whole run in one call without Prefect (the notebooks' way) writes the run directory
as the train flow does, and a run that fails part-way leaves nothing behind."""

from __future__ import annotations

import json

import pytest

from pipelines import runner
from pipelines.config import RunConfig
from pipelines.errors import DevicepipeError
from tests.conftest import write_table


def settings(tmp_path, **changes) -> RunConfig:
    table = write_table(tmp_path / "t.csv", 1500)
    base = {"data": str(table), "target": "y", "backend": "cpu", "epochs": 2, "data_dir": str(tmp_path)}
    return RunConfig(**{**base, "output": str(tmp_path / "runs"), "models": ["logistic_regression"], **changes})


def test_one_call_writes_the_run_directory_the_flow_writes(tmp_path):
    run_dir = runner.train(settings(tmp_path))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"report.html", "report.md", "metrics.json", "model/profile.json"} <= set(manifest["files"])
    assert (
        set(metrics["models"]) == {"logistic_regression", "mlp"} and metrics["trivial_baseline"]["test"]["auc"] == 0.5
    )
    assert (run_dir.parent / "latest").resolve() == run_dir.resolve()
    assert manifest["prefect"] == {"flow_run": {"url": None}}  # no flow run made it


def test_a_run_that_fails_part_way_leaves_nothing_half_written(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a stage failed")

    monkeypatch.setattr(runner, "train_all", broken)
    with pytest.raises(RuntimeError, match="a stage failed"):
        runner.train(settings(tmp_path))
    runs = tmp_path / "runs"
    assert not runs.exists() or not list(runs.iterdir())
    with pytest.raises(DevicepipeError, match="nope"):  # bad input: refused before anything is written
        runner.train(settings(tmp_path, target="nope"))
    assert not runs.exists() or not list(runs.iterdir())
