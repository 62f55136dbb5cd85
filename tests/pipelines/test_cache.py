"""The feature cache: keys change with one byte of input, settings or code; entries round-trip whole."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from pipelines import cache
from pipelines.cache import FeatureCache, cache_key
from pipelines.config import RunConfig
from pipelines.data import sha256_file
from pipelines.features import Categorify, FillMissing, Standardize, Workflow
from pipelines.features.workflow import Part
from pipelines.target import TARGET, TargetInfo


@pytest.fixture
def config():
    return RunConfig(data="t.parquet", target="y", task="classification")


def test_one_changed_byte_in_an_input_changes_the_key(tmp_path, config):
    path = tmp_path / "t.csv"
    path.write_text("x,y\n1,0\n2,1\n")
    before = cache_key(config, {str(path): sha256_file(path)})
    path.write_text("x,y\n1,0\n2,0\n")
    assert cache_key(config, {str(path): sha256_file(path)}) != before


def test_settings_change_the_key_but_output_and_backend_do_not(config):
    inputs = {"a": "0" * 64}
    key = cache_key(config, inputs)
    assert cache_key(dataclasses.replace(config, drop=["x"]), inputs) != key
    assert cache_key(dataclasses.replace(config, seed=1), inputs) != key
    assert cache_key(dataclasses.replace(config, output="elsewhere", backend="cpu", epochs=9), inputs) == key


def test_feature_code_changes_the_key(config, monkeypatch):
    inputs = {"a": "0" * 64}
    key = cache_key(config, inputs)
    monkeypatch.setattr(cache, "code_version", lambda: "a different feature implementation")
    assert cache_key(config, inputs) != key


def test_store_then_load_round_trips(tmp_path, cpu):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=50), "c": rng.choice(["a", "b"], 50)})
    workflow = Workflow([Categorify(["c"]), FillMissing(["x"]), Standardize(["x"])]).fit(Part("train", frame))
    frames = {"train": workflow.transform(frame), "valid": workflow.transform(frame.head(10))}
    targets = {"train": pd.Series(np.ones(50, "float32"), name=TARGET), "valid": pd.Series(np.zeros(10, "float32"))}
    meta = {"target": TargetInfo("y", "classification", [0, 1]), "counts": {"rows_loaded": 60}, "notes": ["n"]}
    store = FeatureCache(tmp_path)
    store.store("k1", workflow, frames, targets, meta)
    entry = store.load("k1", cpu)
    pd.testing.assert_frame_equal(entry["frames"]["train"], frames["train"])
    assert entry["targets"]["valid"].tolist() == [0.0] * 10
    assert entry["meta"]["rows"] == {"train": 50, "valid": 10} and entry["meta"]["target"].classes == [0, 1]
    assert entry["workflow"].columns == workflow.columns
    assert store.load("missing", cpu) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k1"]
