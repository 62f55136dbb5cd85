"""Real Dask clusters for the tests: a LocalCluster of worker processes (`client`), and `dask scheduler` and
`dask worker` processes on 127.0.0.1 (`scheduler`)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread on 127.0.0.1; the Client is the default scheduler inside the tests."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0")
    client = Client(cluster, timeout=30)
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


@pytest.fixture
def scheduler():
    """`dask scheduler` and WORKERS `dask worker`s (1 thread each) on 127.0.0.1, as a user starts them."""
    dask = shutil.which("dask", path=str(Path(sys.executable).parent))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    processes += [
        subprocess.Popen(
            [dask, "worker", address, "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(WORKERS)
    ]
    try:
        yield address
    finally:
        for process in processes[::-1]:
            process.terminate()
            process.wait(timeout=30)
