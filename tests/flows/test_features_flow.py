"""The features flow: the features of a table computed and stored in the feature cache, in this process and with
`--cluster local` (a real LocalCluster, opened and closed by the flow), the same either way."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import write_table

pytestmark = pytest.mark.slow


def _features(config) -> tuple[dict[str, pd.DataFrame], list[str]]:
    from flows.features import build_features

    folder = Path(build_features(config))
    notes = json.loads((folder / "meta.json").read_text())["notes"]
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("train", "valid", "test")}, notes


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])  # read on the workers; read here and sent to them
def test_the_features_flow_gives_the_same_features_with_a_local_cluster(prefect_harness, tmp_path, suffix):
    from pipelines.config import RunConfig

    table = write_table(tmp_path / f"t{suffix}", 3000)
    settings = {"data": str(table), "target": "y", "backend": "cpu", "output": str(tmp_path / "runs")}
    alone, notes_alone = _features(RunConfig(**settings, data_dir=str(tmp_path / "alone")))
    spread_dir = str(tmp_path / "spread")
    config = RunConfig(**settings, data_dir=spread_dir, cluster="local", n_workers=2, partition_size="1MiB")
    spread, notes = _features(config)
    joined = " ".join(notes)
    assert "features: the workflow was fitted on 2 Dask workers (" in joined
    assert "partition(s)" not in joined and "the splits' partitions, on the workers since the load)" in joined
    assert not [note for note in notes_alone if "Dask" in note]
    assert set(alone) == set(spread)
    for name in alone:
        assert len(alone[name]) > 300
        pd.testing.assert_frame_equal(alone[name], spread[name])


def test_a_worker_killed_in_the_train_flow_fails_it_clearly_and_leaves_no_run(prefect_harness, tmp_path, monkeypatch):
    """A real worker of the run's LocalCluster killed once the table (CSV: read here) was sent to it: the flow
    fails with a ClusterError saying so, and the run folder keeps nothing (no checkpoint was written yet)."""
    import os
    import signal

    from flows.train import train
    from pipelines.config import RunConfig
    from pipelines.data import read_partitioned
    from pipelines.errors import ClusterError

    sent = read_partitioned.scatter_frame  # a CSV is read here and sent to the workers in row blocks

    def send_then_kill(client, *args, **kwargs):
        result = sent(client, *args, **kwargs)
        pids = client.run(os.getpid)
        os.kill(pids[sorted(pids)[-1]], signal.SIGKILL)
        return result

    monkeypatch.setattr(read_partitioned, "scatter_frame", send_then_kill)
    table = write_table(tmp_path / "t.csv", 2000)
    output = tmp_path / "runs"
    config = RunConfig(data=str(table), target="y", backend="cpu", output=str(output), cluster="local", n_workers=2)
    with pytest.raises(ClusterError, match="Loading the data on the cluster stopped: a Dask worker was lost"):
        train(config, progress=False)
    assert not [path for path in output.rglob("*") if path.is_file() and path.name != ".lock"]
