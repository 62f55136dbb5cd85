"""Your own table (the `table` recipe) from CSV as from Parquet: its time column, datetime columns and IDs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import datasets
from pipelines.config import RunConfig
from pipelines.errors import DataError


@pytest.fixture
def rows() -> pd.DataFrame:
    """300 hourly rows: the time as ISO strings, a second timestamp unique on every row, a number, a label."""
    rng = np.random.default_rng(0)
    times = pd.date_range("2024-01-01", periods=300, freq="h")
    return pd.DataFrame(
        {
            "sold_at": times.strftime("%Y-%m-%dT%H:%M:%S"),
            "listed_at": (times - pd.Timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S"),
            "size": rng.normal(size=300),
            "sold": rng.integers(0, 2, 300),
        }
    )


def _stages(path, cpu, **settings):
    recipe = datasets.recipe_for(RunConfig(data=str(path), target="sold", **settings))
    dataset = datasets.load_dataset(recipe, cpu)
    parts = datasets.split_dataset(recipe, dataset, cpu)
    return parts, datasets.fit_features(recipe, dataset, parts)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_the_time_column_splits_by_time_from_csv_as_from_parquet(tmp_path, cpu, rows, suffix):
    path = tmp_path / f"t.{suffix}"
    rows.to_csv(path, index=False) if suffix == "csv" else rows.assign(
        sold_at=pd.to_datetime(rows["sold_at"]), listed_at=pd.to_datetime(rows["listed_at"])
    ).to_parquet(path)
    parts, features = _stages(path, cpu, time_column="sold_at")
    times = {name: part.frame["sold_at"] for name, part in parts.items()}
    assert times["train"].max() < times["valid"].min() and times["valid"].max() < times["test"].min()
    assert [len(part) for part in parts.values()] == [210, 45, 45]
    # listed_at is unique on every row, yet a datetime: calendar features, not an "ID" left out.
    assert "listed_at_hour" in features.workflow.numeric_
    assert not [note for note in features.notes if "listed_at" in note]


def test_a_time_column_that_does_not_parse_names_the_column_and_a_bad_value(tmp_path, cpu, rows):
    rows.loc[17, "sold_at"] = "yesterday"
    path = tmp_path / "t.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"time column 'sold_at'.*'yesterday'"):
        _stages(path, cpu, time_column="sold_at")
