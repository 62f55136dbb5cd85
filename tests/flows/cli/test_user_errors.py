"""Hostile input as a new user gives it, through the real `devicepipe` command: a CSV's time column, values that
are no timestamps, infinite values at train and at predict time, column names the pipeline uses itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.flows.cli.test_cli import assert_user_error, devicepipe

QUICK = ("--epochs", "1", "--model", "logistic_regression", "--no-progress", "--output", "runs")


def _rows(count: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-01-01", periods=count, freq="h")
    size = rng.normal(size=count)
    return pd.DataFrame(
        {
            "sold_at": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "size": size,
            "city": rng.choice(["a", "b", "c"], count),
            "sold": (size + rng.normal(scale=0.5, size=count) > 0).astype(int),
        }
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A run on a CSV file split by its ISO time column: what `--time-column` on CSV must do."""
    folder = tmp_path_factory.mktemp("timed")
    _rows().to_csv(folder / "sales.csv", index=False)
    result = devicepipe(
        "run", "--data", "sales.csv", "--target", "sold", "--time-column", "sold_at", *QUICK, cwd=folder
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "runs" / "latest"


def test_a_csv_time_column_splits_by_time(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["rows"] == {"train": 280, "valid": 60, "test": 60}
    assert json.loads((trained / "manifest.json").read_text())["config"]["time_column"] == "sold_at"


def test_a_time_column_with_a_value_that_is_no_timestamp(tmp_path):
    rows = _rows()
    rows.loc[123, "sold_at"] = "next tuesday"
    rows.to_csv(tmp_path / "sales.csv", index=False)
    result = devicepipe(
        "run", "--data", "sales.csv", "--target", "sold", "--time-column", "sold_at", *QUICK, cwd=tmp_path
    )
    assert_user_error(result, "time column 'sold_at'", "'next tuesday'")
    assert not (tmp_path / "runs").exists()


def test_infinite_values_in_training_data(tmp_path):
    rows = _rows()
    rows.loc[[5, 9], "size"] = np.inf
    rows.to_csv(tmp_path / "sales.csv", index=False)
    result = devicepipe("run", "--data", "sales.csv", "--target", "sold", *QUICK, cwd=tmp_path)
    assert_user_error(result, "infinite values", "'size'", "--drop size")
    assert "null" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_infinite_values_in_rows_to_score(trained, tmp_path):
    rows = _rows(50, seed=1).drop(columns=["sold"])
    rows.loc[3, "size"] = -np.inf
    rows.to_parquet(tmp_path / "new.parquet")
    result = devicepipe("predict", "--from", str(trained), "--data", "new.parquet", "--out", "p.parquet", cwd=tmp_path)
    assert_user_error(result, "infinite values", "'size'")
    assert not (tmp_path / "p.parquet").exists()


@pytest.mark.parametrize(
    ("column", "phrases"),
    [("__target__", ["'__target__'", "reserved"]), ("size_missing", ["'size_missing'", "FillMissing"])],
)
def test_a_column_named_like_one_the_pipeline_makes(tmp_path, column, phrases):
    rows = _rows().assign(**{column: 1.5})
    rows.loc[::10, "size"] = None  # so that FillMissing adds its indicator, size_missing
    rows.to_csv(tmp_path / "sales.csv", index=False)
    result = devicepipe("run", "--data", "sales.csv", "--target", "sold", *QUICK, cwd=tmp_path)
    assert_user_error(result, *phrases)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_a_folder_whose_files_disagree_on_their_columns(tmp_path, suffix):
    """Parquet files with a column of two types, or CSV files with different columns: exit 2 listing both."""
    (tmp_path / "sales").mkdir()
    rows = _rows()
    first, second = rows.iloc[:200], rows.iloc[200:]
    if suffix == "parquet":
        first.to_parquet(tmp_path / "sales" / "jan.parquet")
        second.assign(size=second["size"].astype(str)).to_parquet(tmp_path / "sales" / "feb.parquet")
        phrases = ["'size' is", "double in jan.parquet", "string in feb.parquet"]
    else:
        first.to_csv(tmp_path / "sales" / "jan.csv", index=False)
        second.rename(columns={"city": "town"}).to_csv(tmp_path / "sales" / "feb.csv", index=False)
        phrases = ["'city' is missing from feb.csv", "'town' is missing from jan.csv"]
    result = devicepipe("run", "--data", "sales", "--target", "sold", *QUICK, cwd=tmp_path)
    assert_user_error(result, *phrases)
    assert not (tmp_path / "runs").exists()
