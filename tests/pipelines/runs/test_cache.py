"""The feature cache: keys change with one byte of input, settings or feature code, and with nothing else;
entries round-trip whole."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.config import RunConfig
from pipelines.data.split import Part
from pipelines.data.target import TargetInfo
from pipelines.datasets import recipe_for
from pipelines.features import Categorify, FillMissing, Standardize, Workflow
from pipelines.features.feature_set import FeatureSet
from pipelines.files import sha256_file
from pipelines.runs import cache
from pipelines.runs.cache import FeatureCache, cache_key, code_files

ROOT = Path(cache.__file__).resolve().parents[2]


@pytest.fixture
def config():
    return RunConfig(data="t.parquet", target="y", task="classification")


def key(config: RunConfig, inputs: dict[str, str]) -> str:
    return cache_key(recipe_for(config), inputs)


def test_one_changed_byte_in_an_input_changes_the_key(tmp_path, config):
    path = tmp_path / "t.csv"
    path.write_text("x,y\n1,0\n2,1\n")
    before = key(config, {str(path): sha256_file(path)})
    path.write_text("x,y\n1,0\n2,0\n")
    assert key(config, {str(path): sha256_file(path)}) != before


def test_settings_change_the_key_but_output_backend_and_training_do_not(config):
    inputs = {"a": "0" * 64}
    first = key(config, inputs)
    assert key(dataclasses.replace(config, drop=["x"]), inputs) != first
    assert key(dataclasses.replace(config, seed=1), inputs) != first
    same = dataclasses.replace(config, output="elsewhere", backend="cpu", epochs=9, models=["xgboost"], cache=False)
    assert key(same, inputs) == first


def test_the_key_covers_exactly_the_code_that_shapes_features(config):
    """The feature library, the recipe and the backend's hashing of categories count; training does not."""
    table = {str(p.relative_to(ROOT)) for p in code_files(recipe_for(config))}
    assert {"pipelines/backend/frames.py", "pipelines/datasets/table.py", "pipelines/features/categorify.py"} <= table
    assert {
        "pipelines/data/load.py",
        "pipelines/data/split.py",
        "pipelines/data/target.py",
        "pipelines/data/validate.py",
    } <= table
    assert "pipelines/datasets/flights.py" not in table
    flights = {str(p.relative_to(ROOT)) for p in code_files(recipe_for(RunConfig()))}
    assert {"pipelines/datasets/flights.py", "pipelines/datasets/flights_context.py"} <= flights
    for training in (
        "pipelines/training/single.py",
        "pipelines/models/mlp.py",
        "pipelines/stages.py",
        "pipelines/training/handoff.py",
    ):
        assert training not in table | flights


def test_a_change_in_the_backend_hashing_changes_the_key(config, monkeypatch, tmp_path):
    frames = ROOT / "pipelines" / "backend" / "frames.py"
    changed = tmp_path / "frames.py"
    changed.write_bytes(frames.read_bytes() + b"\n# another hash\n")
    inputs = {"a": "0" * 64}
    first = key(config, inputs)
    real = cache.code_files
    monkeypatch.setattr(cache, "code_files", lambda recipe: [changed if p == frames else p for p in real(recipe)])
    assert key(config, inputs) != first


def test_store_then_load_round_trips(tmp_path, cpu):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=50), "c": rng.choice(["a", "b"], 50)})
    workflow = Workflow([Categorify(["c"]), FillMissing(["x"]), Standardize(["x"])]).fit(Part("train", frame))
    frames = {"train": workflow.transform(frame), "valid": workflow.transform(frame.head(10))}
    targets = {"train": pd.Series(np.ones(50, "float32")), "valid": pd.Series(np.zeros(10, "float32"))}
    target = TargetInfo("y", "classification", [0, 1])
    features = FeatureSet(
        workflow=workflow,
        frames=frames,
        targets=targets,
        target=target,
        inputs={"t.csv": "ab"},
        counts={"rows_loaded": 60},
        notes=["n"],
    )
    store = FeatureCache(tmp_path)
    store.store("k1", features)
    entry = store.load("k1", cpu)
    pd.testing.assert_frame_equal(entry.frames["train"], frames["train"])
    assert entry.targets["valid"].tolist() == [0.0] * 10
    assert entry.rows == {"train": 50, "valid": 10} and entry.target.classes == [0, 1]
    assert entry.workflow.columns == workflow.columns and entry.notes == ["n"] and entry.inputs == {"t.csv": "ab"}
    assert entry.cache == {"key": "k1", "hit": True, "path": str(tmp_path / "k1")}
    assert store.load("missing", cpu) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k1"]
