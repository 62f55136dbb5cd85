"""The memory check before the load: an estimate of the inputs as frames, a clear error when a run cannot fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import datasets
from pipelines.backend import cpu as cpu_module
from pipelines.backend.host import available_host_bytes, release_host_memory
from pipelines.config import RunConfig
from pipelines.data.footprint import READ_FACTOR, STRING_BYTES, input_bytes, needed, source_bytes
from pipelines.data.load import resolve
from pipelines.errors import DataError

ROWS = 5_000


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=ROWS),  # 8 bytes
            "n": rng.integers(0, 9, ROWS).astype("int32"),  # 4 bytes
            "c": rng.choice(["a", "bb", "ccc"], ROWS),  # a string
            "y": rng.integers(0, 2, ROWS),  # 8 bytes
        }
    )
    folder = tmp_path / "table"
    folder.mkdir()
    frame.iloc[:2000].to_parquet(folder / "a.parquet")
    frame.iloc[2000:].to_parquet(folder / "b.parquet")
    frame.to_csv(tmp_path / "table.csv", index=False)
    return tmp_path, frame


def test_parquet_inputs_are_sized_from_their_footers_and_schema(table):
    tmp_path, frame = table
    estimate = source_bytes(resolve(tmp_path / "table"))
    assert estimate == ROWS * (8 + 4 + STRING_BYTES + 8)
    actual = frame.memory_usage(deep=True, index=False).sum()
    assert 0.5 * actual < estimate < 2 * actual
    csv_bytes = (tmp_path / "table.csv").stat().st_size
    assert input_bytes([tmp_path / "table", tmp_path / "table.csv"]) == estimate + csv_bytes


def test_a_run_that_cannot_fit_is_refused_before_any_row_is_read(table, cpu, monkeypatch):
    tmp_path, _ = table
    recipe = datasets.recipe_for(RunConfig(data=str(tmp_path / "table"), target="y"))
    recipe.check()
    size = ROWS * (20 + STRING_BYTES)
    need = needed(size, recipe.memory_factor)
    assert need == recipe.memory_factor * size
    monkeypatch.setattr(type(recipe), "load", lambda *_: pytest.fail("the rows were read"))
    monkeypatch.setattr(cpu_module, "available_host_bytes", lambda: int(need / 2))
    with pytest.raises(DataError, match=r"needs about .* GiB .* available.*--sample 0\.5\)"):
        datasets.load_dataset(recipe, cpu)
    monkeypatch.setattr(cpu_module, "available_host_bytes", lambda: size)  # not even the read fits
    with pytest.raises(DataError, match=r"Even reading the input does not fit") as error:
        datasets.load_dataset(recipe, cpu)
    assert "--sample" not in str(error.value)


def test_a_sample_needs_less_but_the_read_still_takes_every_row():
    assert needed(1000, 10.0, 0.5) == 5000 and needed(1000, 10.0, 0.01) == 1000 * READ_FACTOR


def test_host_memory_is_measured_and_released():
    release_host_memory()
    assert 0 < available_host_bytes() <= __import__("psutil").virtual_memory().total


def test_the_imports_are_frozen_once_so_collections_between_stages_skip_them():
    """run_stages freezes what exists before its first stage (gc.freeze), once per process: the collection that
    release_host_memory runs between stages then scans only what the stages made."""
    import gc

    from pipelines.runs.residency import Ledger
    from pipelines.stages import Stage, run_stages

    class Sync:
        def synchronize(self) -> None:
            pass

    stage = Stage(name="noop", run=lambda: "done", inputs=(), output="out")
    values = run_stages((stage,), {"backend": Sync()}, Ledger(enabled=False), {})
    frozen = gc.get_freeze_count()
    assert values["out"] == "done" and frozen > 10_000  # torch, pandas and the rest, imported by now
    garbage = [object() for _ in range(1000)]
    run_stages((stage,), {"backend": Sync()}, Ledger(enabled=False), {})
    assert gc.get_freeze_count() == frozen and garbage  # not frozen again: later objects stay collectable
