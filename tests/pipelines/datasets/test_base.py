"""What every recipe shares: the seeded sample, and the load -> split -> features stages over each recipe."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import datasets
from pipelines.config import RunConfig
from pipelines.data.split import sample_rows
from pipelines.data.target import TARGET
from pipelines.errors import ConfigError


def test_sample_keeps_seeded_host_drawn_rows_in_order():
    frame = pd.DataFrame({"a": np.arange(1000)}, index=np.arange(1000) * 7)
    sample = sample_rows(frame, 0.1, 3)
    assert len(sample) == 100 and sample["a"].is_monotonic_increasing
    assert list(sample.index) == list(range(100))
    # The positions come from NumPy alone, so cuDF keeps the very same rows (tests/gpu/test_gpu.py checks it there).
    expected = np.sort(np.random.default_rng(3).choice(1000, size=100, replace=False))
    assert sample["a"].tolist() == expected.tolist()
    assert not sample.equals(sample_rows(frame, 0.1, 4))
    assert sample_rows(frame, None, 0) is frame and sample_rows(frame, 1.0, 0) is frame
    assert len(sample_rows(frame, 0.0001, 0)) == 1


def test_the_dataset_defaults_to_flights_without_data_and_to_table_with_it():
    assert RunConfig().dataset == "flights" and isinstance(
        datasets.recipe_for(RunConfig()), datasets.RECIPES["flights"]
    )
    assert RunConfig(data="t.csv", target="y").dataset == "table"
    assert RunConfig(dataset="flights", data="x").dataset == "flights"


def test_an_unknown_dataset_is_a_config_error_naming_the_recipes():
    with pytest.raises(ConfigError, match=r"Unknown dataset 'nope'.*flights, table"):
        datasets.recipe_for(RunConfig(dataset="nope"))


def test_older_run_settings_load_under_their_new_names():
    config = RunConfig.from_dict({"data": None, "baselines": ["xgboost"], "epochs": 2})
    assert config.models == ["xgboost"] and config.dataset == "flights"
    with pytest.raises(ConfigError, match="Unknown run settings"):
        RunConfig.from_dict({"epoch": 2})


@pytest.fixture
def own_table(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(["a", "b"], 400), "note": "n"})
    frame["y"] = (frame["x"] > 0).astype(int)
    frame.to_parquet(tmp_path / "t.parquet")
    return RunConfig(data=str(tmp_path / "t.parquet"), target="y", drop=["note"])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"target": "y"}, "describe your own data"),
        ({"task": "regression"}, "classification task"),
    ],
)
def test_flights_refuses_settings_of_your_own_table(settings, message):
    with pytest.raises(ConfigError, match=message):
        datasets.recipe_for(RunConfig(dataset="flights", **settings)).check()


def test_table_stages_drop_columns_split_and_fit_features_on_train(own_table, cpu):
    recipe = datasets.recipe_for(own_table)
    recipe.check()
    dataset = datasets.load_dataset(recipe, cpu)
    assert "note" not in dataset.frame.columns and TARGET in dataset.frame.columns
    assert list(dataset.inputs) == [own_table.data]
    parts = datasets.split_dataset(recipe, dataset, cpu)
    features = datasets.fit_features(recipe, dataset, parts)
    assert features.rows == {name: len(part) for name, part in parts.items()} and sum(features.rows.values()) == 400
    assert set(features.workflow.columns) >= {"x", "c"} and "y" not in features.workflow.columns
    new = recipe.rows_to_score(own_table.data, cpu)
    assert "note" not in new.columns
