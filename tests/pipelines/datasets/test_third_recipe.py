"""A third dataset, added as one file (synthetic.py) plus one registration line, runs through the train flow
and scores new rows from its bundle, with nothing else in the project changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines import datasets
from pipelines.config import RunConfig
from tests.pipelines.datasets.synthetic import Synthetic, draw

pytestmark = pytest.mark.slow


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(datasets.RECIPES, Synthetic.name, Synthetic)  # the one registration line


def test_the_synthetic_recipe_trains_and_scores(registered, prefect_harness, tmp_path):
    from flows.train import train
    from pipelines.backend import cpu_backend
    from pipelines.scoring import predict

    config = RunConfig(
        dataset="synthetic", epochs=2, output=str(tmp_path / "runs"), data_dir=str(tmp_path), backend="cpu"
    )
    run_dir = Path(train(config, progress=False))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["models"]) == {"logistic_regression", "xgboost", "mlp"}
    assert all(score["test"]["auc"] > 0.85 for score in metrics["models"].values()), metrics["models"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config"]["dataset"] == "synthetic" and manifest["inputs"] == {}
    assert "3000 rows drawn (seed 0)" in manifest["notes"]

    new = draw(50, seed=1, task="classification").drop(columns=["y"])
    new.to_parquet(tmp_path / "new.parquet")
    bundle = predict.open_bundle(run_dir)
    rows = predict.read_rows(bundle, tmp_path / "new.parquet", cpu_backend())
    for model in metrics["models"]:
        scores = predict.score_rows(bundle, rows, cpu_backend(), model)
        assert scores.shape == (50,) and bool(((scores >= 0) & (scores <= 1)).all()), model


def test_the_synthetic_recipe_runs_the_stages_for_regression(registered, cpu):
    from pipelines.runs.record import metrics_document
    from pipelines.runs.residency import Ledger
    from pipelines.stages import STAGES, check_run, fitted_models, run_stages

    config = RunConfig(dataset="synthetic", task="regression", epochs=2, models=["linear_regression"])
    values = {"recipe": check_run(config), "backend": cpu, "config": config, "progress": False, "checkpoints": None}
    seconds: dict[str, float] = {}
    run_stages(STAGES, values, Ledger(enabled=False), seconds)
    assert list(seconds) == [stage.name for stage in STAGES]
    metrics = metrics_document(values["features"], fitted_models(values), config.task, cpu)
    assert set(metrics["models"]) == {"linear_regression", "mlp"}
    assert metrics["models"]["linear_regression"]["test"]["r2"] > 0.8
