"""A real Dask cluster for the tests: `dask scheduler` and `dask worker` processes on 127.0.0.1."""

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
