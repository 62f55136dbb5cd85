"""A real `mlflow server` for the tests: a SQLite store and local artifacts under a folder, on a free port of
127.0.0.1, in its own process group (stop it with tests.processes.stop_group)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.dask_cluster import free_port
from tests.processes import stop_group

MLFLOW = Path(sys.executable).parent / "mlflow"


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    """`mlflow server` on a free port of 127.0.0.1, once its health check answers."""
    port = free_port()
    store, artifacts = f"sqlite:///{home / 'mlflow.db'}", str(home / "artifacts")
    command = [str(MLFLOW), "server", "--backend-store-uri", store, "--artifacts-destination", artifacts]
    with open(home / "server.log", "w") as log:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, (home / "server.log").read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    stop_group(process)
    raise AssertionError(f"mlflow server not up after 180 s: {(home / 'server.log').read_text()[-3000:]}")
