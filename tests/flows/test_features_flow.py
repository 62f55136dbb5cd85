"""The features flow: the features of a table computed and stored in the feature cache, in this process and with
`--cluster local` (a real LocalCluster, opened and closed by the flow), the same either way."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def _table(path: Path, rows: int) -> Path:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.integers(0, 9, rows)})
    frame["c"] = rng.choice(list("pqrs"), rows)
    frame.loc[rng.random(rows) < 0.1, "a"] = np.nan
    frame["y"] = ((frame.a.fillna(0) + (frame.c == "q") + rng.normal(size=rows)) > 0.5).astype("int64")
    frame.to_parquet(path)
    return path


def _features(config) -> tuple[dict[str, pd.DataFrame], list[str]]:
    from flows.features import build_features

    folder = Path(build_features(config))
    notes = json.loads((folder / "meta.json").read_text())["notes"]
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("train", "valid", "test")}, notes


def test_the_features_flow_gives_the_same_features_with_a_local_cluster(prefect_harness, tmp_path):
    from pipelines.config import RunConfig

    table = _table(tmp_path / "t.parquet", 3000)
    settings = {"data": str(table), "target": "y", "backend": "cpu", "output": str(tmp_path / "runs")}
    alone, notes_alone = _features(RunConfig(**settings, data_dir=str(tmp_path / "alone")))
    spread_dir = str(tmp_path / "spread")
    config = RunConfig(**settings, data_dir=spread_dir, cluster="local", n_workers=2, partition_size="1MiB")
    spread, notes = _features(config)
    assert "features: the workflow was fitted on 2 Dask workers (2 partitions)" in notes
    assert not [note for note in notes_alone if "Dask" in note]
    assert set(alone) == set(spread)
    for name in alone:
        assert len(alone[name]) > 300
        pd.testing.assert_frame_equal(alone[name], spread[name])
