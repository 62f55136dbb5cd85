"""Drift when scoring, end to end: a table run, then `devicepipe predict` and the score flow on new rows drawn
from the training distribution (no alert) and on rows shifted on purpose (an alert; exit 3 and a failed flow run
with --fail-on-drift, the predictions written all the same)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.flows.cli.test_cli import devicepipe

pytestmark = pytest.mark.slow


def _table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3 + shift, 0.5, n),
            "age": rng.integers(18, 80, n).astype(float),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1] if not shift else [0.1, 0.3, 0.6]),
        }
    )
    frame["churned"] = (rng.random(n) < 1 / (1 + np.exp(-(frame["age"] - 50) / 10))).astype(int)
    return frame


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("drift")
    _table(4000, 0).to_parquet(folder / "train.parquet")
    _table(3000, 1).drop(columns=["churned"]).to_parquet(folder / "same.parquet")
    _table(3000, 2, shift=1.0).drop(columns=["churned"]).to_parquet(folder / "shifted.parquet")
    return folder


@pytest.fixture(scope="module")
def run_dir(prefect_harness, tables) -> Path:
    from flows.train import train
    from pipelines.config import RunConfig

    config = RunConfig(
        data=str(tables / "train.parquet"),
        target="churned",
        epochs=1,
        output=str(tables / "runs"),
        data_dir=str(tables / "data"),
        backend="cpu",
        models=["logistic_regression"],
    )
    return Path(train(config, progress=False))


def _predict(run_dir: Path, data: Path, out: Path, *extra: str):
    args = ["predict", "--from", str(run_dir), "--data", str(data), "--out", str(out), "--backend", "cpu"]
    return devicepipe(*args, *extra, cwd=out.parent)


def test_the_bundle_carries_the_training_profile(run_dir):
    profile = json.loads((run_dir / "model" / "profile.json").read_text())
    assert set(profile["columns"]) == {"amount", "age", "plan"}  # the target is not profiled
    assert set(profile["predictions"]) == {"logistic_regression", "mlp"}
    assert "model/profile.json" in json.loads((run_dir / "manifest.json").read_text())["files"]


def test_rows_from_the_training_distribution_score_without_alert(run_dir, tables, tmp_path):
    out = tmp_path / "preds.parquet"
    result = _predict(run_dir, tables / "same.parquet", out, "--fail-on-drift")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "drift: nothing moved" in result.stdout
    report = json.loads((tmp_path / "preds.drift.json").read_text())
    assert report["alerts"] == [] and report["rows"] == 3000 and set(report["predictions"]) == {report["model"]}


def test_shifted_rows_are_an_alert_and_exit_3_with_fail_on_drift(run_dir, tables, tmp_path):
    out = tmp_path / "preds.parquet"
    warned = _predict(run_dir, tables / "shifted.parquet", out)
    assert warned.returncode == 0 and "alert(s)" in warned.stdout
    failed = _predict(run_dir, tables / "shifted.parquet", out, "--fail-on-drift", "--drift-alert", "0.2")
    assert failed.returncode == 3, failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr and "error: drift alert (PSI >= 0.2)" in failed.stderr
    report = json.loads((tmp_path / "preds.drift.json").read_text())
    assert {"amount", "plan"} <= set(report["alerts"]) and "age" not in report["moved"]
    assert len(pd.read_parquet(out)) == 3000  # the predictions are written all the same


def test_bad_thresholds_are_a_usage_error_before_any_work(run_dir, tables, tmp_path):
    result = _predict(run_dir, tables / "same.parquet", tmp_path / "p.parquet", "--drift-warn", "0.5")
    assert result.returncode == 2 and "0 < --drift-warn <= --drift-alert" in result.stderr
    assert not list(tmp_path.iterdir())


def test_the_score_flow_fails_on_an_alert_and_still_writes(prefect_harness, run_dir, tables, tmp_path):
    from flows.score import score
    from pipelines.scoring.drift import DriftAlert

    same = score(
        str(tables / "same.parquet"),
        model=str(run_dir),
        out=str(tmp_path / "a.parquet"),
        backend="cpu",
        fail_on_drift=True,
    )
    assert json.loads((tmp_path / "a.drift.json").read_text())["alerts"] == [] and Path(same).exists()
    with pytest.raises(DriftAlert, match="drift alert"):
        score(
            str(tables / "shifted.parquet"),
            model=str(run_dir),
            out=str(tmp_path / "b.parquet"),
            backend="cpu",
            fail_on_drift=True,
        )
    assert (tmp_path / "b.parquet").exists() and json.loads((tmp_path / "b.drift.json").read_text())["alerts"]


def test_the_score_flow_cuts_at_the_run_s_chosen_threshold(prefect_harness, run_dir, tables, tmp_path):
    """threshold="chosen": the cut the run chose for its best model on validation, as `predict --threshold`."""
    from flows.score import score
    from pipelines.errors import ConfigError

    metrics = json.loads((run_dir / "metrics.json").read_text())
    cut = metrics["thresholds"][metrics["best_model"]]["value"]
    out = score(str(tables / "same.parquet"), model=str(run_dir), out=str(tmp_path / "c.parquet"), threshold="chosen")
    predictions = pd.read_parquet(out)
    assert predictions["prediction"].tolist() == (predictions["probability"] >= cut).astype(int).tolist()
    with pytest.raises(ConfigError, match="found 'sometimes'"):
        score(str(tables / "same.parquet"), model=str(run_dir), out=str(tmp_path / "d.parquet"), threshold="sometimes")
    assert not (tmp_path / "d.parquet").exists()
