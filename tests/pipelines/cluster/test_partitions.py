"""Tables read and split in partitions (pipelines.cluster.partitions): the same rows, numbers, draws and samples as one
frame; and the default job's load, split and features on a real LocalCluster equal to one process's."""

from __future__ import annotations

import itertools
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.backend import cpu_backend
from pipelines.cluster import partitions as partitioned
from pipelines.config import RunConfig
from pipelines.data import read_partitioned
from pipelines.data.split import random_split, sample_rows
from pipelines.errors import DataError


@pytest.fixture
def synchronous():
    """dask's single-threaded scheduler: the pure functions need no cluster."""
    with dask.config.set(scheduler="synchronous"):
        yield


def _row_groups(path: Path) -> pd.DataFrame:
    """A file of 3 row groups (500, 700, 300 rows) with text, floats with nulls and times."""
    rows = 1500
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            "k": rng.choice(["x", "y", "z"], rows),
            "t": pd.date_range("2013-01-01", periods=rows, freq="h"),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "a"] = np.nan
    with pq.ParquetWriter(path, pa.Schema.from_pandas(frame, preserve_index=False)) as writer:
        for start, stop in ((0, 500), (500, 1200), (1200, 1500)):
            writer.write_table(pa.Table.from_pandas(frame.iloc[start:stop], preserve_index=False))
    return frame


@pytest.mark.parametrize("rows_per_piece", [1, 200, 500, 650, 1200, 10_000])
def test_parquet_read_in_pieces_is_the_whole_file_numbered(tmp_path, synchronous, rows_per_piece):
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    whole = pd.concat([_row_groups(path) for path in paths], ignore_index=True)
    cut = read_partitioned.pieces(paths, 10, 10 * rows_per_piece)
    assert sum(piece.rows for piece in cut) == len(whole)
    assert all(0 < piece.rows <= rows_per_piece for piece in cut)
    frame = read_partitioned.read_parquet(paths, cpu_backend(), ["k", "a", "t"], 10, 10 * rows_per_piece)
    assert frame.npartitions == len(cut)
    assert frame._meta.dtypes.equals(whole[["k", "a", "t"]].dtypes)  # the meta comes from the schema alone
    assert partitioned.rows(frame) == len(whole)
    pd.testing.assert_frame_equal(frame.compute(), cpu_backend().read_parquet(paths, columns=["k", "a", "t"]))
    pd.testing.assert_frame_equal(frame.compute(), whole[["k", "a", "t"]])


def _numbered(frame: pd.DataFrame, bounds: list[int]) -> dd.DataFrame:
    parts = [frame.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    return partitioned.renumber(dd.from_delayed([dask.delayed(p) for p in parts], meta=frame.iloc[:0]))


def test_renumber_take_rows_and_the_draw_match_one_frame(synchronous):
    frame = pd.DataFrame({"v": np.arange(1000) * 2.0, "w": np.arange(1000) % 7})
    numbered = _numbered(frame, [0, 0, 333, 334, 1000])  # an empty partition and one of a single row
    assert numbered.divisions[0] == 0 and partitioned.rows(numbered) == 1000
    pd.testing.assert_frame_equal(numbered.compute(), frame)
    kept = numbered[numbered.w != 3]
    pd.testing.assert_frame_equal(partitioned.renumber(kept).compute(), frame[frame.w != 3].reset_index(drop=True))
    positions = np.array([0, 1, 332, 333, 334, 999])
    pd.testing.assert_frame_equal(
        partitioned.take_rows(numbered, positions).compute(), frame.take(positions).reset_index(drop=True)
    )
    draw = partitioned.uniform_draw(numbered, 11).compute().to_numpy()
    np.testing.assert_array_equal(draw, np.random.default_rng(11).random(1000))
    pd.testing.assert_frame_equal(sample_rows(numbered, 0.3, 4).compute(), sample_rows(frame, 0.3, 4))


def test_a_seeded_random_split_is_the_same_on_partitions(synchronous):
    frame = pd.DataFrame({"v": np.arange(5000.0)})
    one = random_split(frame, cpu_backend(), seed=9)
    parts = random_split(_numbered(frame, [0, 1200, 1201, 5000]), cpu_backend(), seed=9)
    for name, part in one.items():
        pd.testing.assert_frame_equal(parts[name].frame.compute(), part.frame)


@pytest.fixture(scope="module")
def synthetic(flights_dir, tmp_path_factory) -> Path:
    """24,000 synthetic flights in 2 Parquet files of 12,000 (a row group each; 192 bytes a row as frames)."""
    from pipelines.datasets.synth import synthesize

    out = tmp_path_factory.mktemp("synth") / "flights"
    synthesize(out, 24_000, seed=2, data_dir=flights_dir, partition_rows=12_000, progress=False)
    return out


def _features(config: RunConfig, client=None):
    from pipelines import datasets

    backend, recipe, placement = cpu_backend(), datasets.recipe_for(config), _placement(client, config)
    dataset = datasets.load_dataset(recipe, backend, placement)
    parts = datasets.split_dataset(recipe, dataset, backend, placement)
    return dataset, datasets.fit_features(recipe, dataset, parts, placement)


def _placement(client, config: RunConfig):
    from pipelines.data.placement import IN_PROCESS, OnDaskWorkers

    return IN_PROCESS if client is None else OnDaskWorkers(client, config.partition_size)


@pytest.mark.slow
@pytest.mark.parametrize(("size", "count"), [("1MiB", 6), ("256MiB", 2)])  # 3 pieces of each file; a file each
def test_the_default_job_loaded_in_partitions_on_a_cluster_equals_one_process(client, synthetic, size, count):
    config = RunConfig(dataset="flights", data=str(synthetic), backend="cpu", partition_size=size)
    dataset, alone = _features(config)
    spread_dataset, spread = _features(config, client)
    assert spread_dataset.counts == dataset.counts
    where = f"({count} partitions: the splits' partitions, on the workers since the load)"
    assert any(where in note for note in spread.notes)
    assert spread.workflow.numeric_ == alone.workflow.numeric_
    for name, frame in alone.frames.items():
        assert len(frame) > 500
        pd.testing.assert_frame_equal(spread.frames[name], frame, check_exact=True)
        pd.testing.assert_series_equal(spread.targets[name], alone.targets[name])
    pd.testing.assert_series_equal(spread.null_share, alone.null_share)
    assert spread.profile == alone.profile
    # The training and validation rows stay on the workers too, the same rows in the same partitions.
    assert alone.on_workers == {} and sorted(spread.on_workers) == ["train", "valid"]
    for name, held in spread.on_workers.items():
        assert held.frame.npartitions == held.target.npartitions == count
        pd.testing.assert_frame_equal(partitioned.gathered(held.frame), alone.frames[name], check_exact=True)
        pd.testing.assert_series_equal(partitioned.gathered(held.target), alone.targets[name])


@pytest.mark.slow
def test_a_bad_value_in_one_partition_is_reported_with_its_rows(client, synthetic, tmp_path):
    bad = tmp_path / "bad"
    (bad / "flights").mkdir(parents=True)
    for path in synthetic.iterdir():
        if path.is_file():
            (bad / path.name).write_bytes(path.read_bytes())
    for path in sorted((synthetic / "flights").glob("*.parquet")):
        frame = pd.read_parquet(path)
        if path.name.endswith("1.parquet"):  # global row 12,005: the second file's first piece
            frame.loc[5, "month"] = 13
        frame.to_parquet(bad / "flights" / path.name)
    config = RunConfig(dataset="flights", data=str(bad), backend="cpu", partition_size="1MiB")
    with pytest.raises(DataError, match=r"flights \(rows 12,000 to 17,460\)[\s\S]*'month'.*found 1 outside"):
        _features(config, client)


def _own_table(folder: Path) -> Path:
    """A table of 9,000 rows in 3 Parquet files (row groups of 1,000): an ID, a time column as ISO text, numbers
    with nulls, a low- and a high-cardinality category, and a target missing on a few rows."""
    folder.mkdir()
    rows = 9000
    rng = np.random.default_rng(8)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "when": pd.date_range("2020-01-01", periods=rows, freq="37min").strftime("%Y-%m-%dT%H:%M:%S"),
            "a": rng.normal(size=rows),
            "b": rng.integers(0, 5, rows),
            "shop": rng.choice(list("pqrs"), rows),
            "item": rng.choice([f"i{k}" for k in range(120)], rows),
        }
    )
    frame.loc[rng.random(rows) < 0.05, "a"] = np.nan
    frame["y"] = ((frame.a.fillna(0) + (frame.shop == "q") + rng.normal(size=rows)) > 0.4).astype("float64")
    frame.loc[rng.random(rows) < 0.01, "y"] = np.nan
    frame = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)  # time order is not row order
    for i in range(3):
        frame.iloc[i * 3000 : (i + 1) * 3000].to_parquet(folder / f"part-{i}.parquet", row_group_size=1000)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("time_column", ["when", None])
def test_your_own_table_read_in_partitions_on_a_cluster_equals_one_process(client, tmp_path, time_column):
    table = _own_table(tmp_path / "table")
    settings = {"data": str(table), "target": "y", "backend": "cpu", "partition_size": "1MiB", "sample": 0.9}
    config = RunConfig(**settings, time_column=time_column)
    dataset, alone = _features(config)
    spread_dataset, spread = _features(config, client)
    assert dataset.counts["dropped_missing_target"] > 0 and spread_dataset.counts == dataset.counts
    assert any("the splits' partitions, on the workers since the load" in note for note in spread.notes)
    assert spread.notes[:-1] == alone.notes  # and the note on the cluster
    assert any("'id' is unique on every training row" in note for note in alone.notes)
    assert spread.workflow.numeric_ == alone.workflow.numeric_
    assert spread.workflow.categorical_ == alone.workflow.categorical_
    for name, frame in alone.frames.items():
        assert len(frame) > 1000
        pd.testing.assert_frame_equal(spread.frames[name], frame, check_exact=True)
        pd.testing.assert_series_equal(spread.targets[name], alone.targets[name])


@pytest.mark.slow
def test_a_table_loaded_in_this_process_keeps_its_training_features_on_the_workers(client, tmp_path):
    from pipelines import datasets
    from pipelines.datasets.table import Table

    class InThisProcess(Table):  # a recipe that reads its rows here, with or without a cluster
        def load(self, backend, placement=None):
            return super().load(backend)

    config = RunConfig(data=str(_own_table(tmp_path / "table")), target="y", backend="cpu", partition_size="1MiB")
    _, alone = _features(config)
    backend, recipe = cpu_backend(), InThisProcess(config)
    placement = _placement(client, config)
    dataset = datasets.load_dataset(recipe, backend, placement)
    spread = datasets.fit_features(recipe, dataset, datasets.split_dataset(recipe, dataset, backend), placement)
    assert any("row blocks of the training split sent from this process" in note for note in spread.notes)
    assert sorted(spread.on_workers) == ["train"]  # the smaller splits are transformed in this process
    held = spread.on_workers["train"]
    assert held.frame.npartitions == held.target.npartitions == 2  # one per worker at least
    pd.testing.assert_frame_equal(partitioned.gathered(held.frame), alone.frames["train"], check_exact=True)
    pd.testing.assert_series_equal(partitioned.gathered(held.target), alone.targets["train"])
