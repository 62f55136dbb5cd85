"""Scoring rows of a time-split table is no drift alarm for being later: the time column is left out of the
drift profile (what the workflow derives from it stays), and the drift report says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.scoring.bundle import FOLDER, PROFILE
from tests.flows.cli.test_cli import devicepipe
from tests.hostile.conftest import train_small


def _rows(count: int, start: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.normal(size=count)
    return pd.DataFrame(
        {
            "sold_at": pd.date_range(start, periods=count, freq="h").strftime("%Y-%m-%dT%H:%M:%SZ"),
            "size": size,
            "city": rng.choice(["a", "b", "c"], count),
            "sold": (size + rng.normal(scale=0.5, size=count) > 0).astype(int),
        }
    )


@pytest.fixture(scope="module")
def trained(prefect_harness, tmp_path_factory):
    data = tmp_path_factory.mktemp("timed") / "sales.csv"
    _rows(600, "2024-01-01", 0).to_csv(data, index=False)
    return train_small(data, "sold", "logistic_regression", time_column="sold_at")


def test_later_rows_of_a_time_split_table_score_without_a_drift_alert(trained, tmp_path):
    """Rows from a month after the training rows, drawn alike: only their time differs."""
    _rows(300, "2024-03-01", 1).drop(columns=["sold"]).to_csv(tmp_path / "new.csv", index=False)
    args = ["predict", "--from", str(trained), "--data", "new.csv", "--out", "p.parquet", "--fail-on-drift"]
    result = devicepipe(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "not measured: sold_at (time columns)" in result.stdout
    report = json.loads((tmp_path / "p.drift.json").read_text())
    assert "sold_at" not in report["columns"] and "sold_at" in report["left_out"]
    assert "time column" in report["left_out"]["sold_at"] and not report["alerts"]
    profile = json.loads((Path(trained) / FOLDER / PROFILE).read_text())
    assert "sold_at" not in profile["columns"] and {"size", "city"} <= set(profile["columns"])
