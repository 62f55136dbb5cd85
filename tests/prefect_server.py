"""A real Prefect server for a test: `prefect server start` (no UI) on 127.0.0.1, its database in a folder of the
test's, in a process group of its own so that a test can kill it whole."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from flows.server.selection import healthy
from tests.dask_cluster import free_port


@contextmanager
def prefect_server(home: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, str]]:
    """(the server's process, its API URL), answering its health check; stopped (its group) on leaving."""
    env = {**env, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    port = free_port()
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with open(home / "server.log", "w") as log:
        server = subprocess.Popen([*command, "--no-ui"], env=env, stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while not healthy(url, timeout=1.0):
            assert server.poll() is None, (home / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Prefect's server did not answer within 120 s"
            time.sleep(0.2)
        yield server, url
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)


class _Shared:
    """One running server per test process (an xdist worker), started on first use and stopped at the session's
    end (conftest's pytest_sessionfinish) or the process's exit."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.stack = ExitStack()

    def api_url(self) -> str:
        if self.url is None:
            home = Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="devicepipe-test-prefect-")))
            _, self.url = self.stack.enter_context(prefect_server(home, dict(os.environ)))
            atexit.register(self.stop)
        return self.url

    def stop(self) -> None:
        self.url = None
        self.stack.close()


_shared = _Shared()


def shared_api_url() -> str:
    """The API URL of this test process's running server. Commands that are not about finding or starting a
    server run against it, as a user's runs do against `devicepipe server start`'s: a temporary server per
    command costs about 3 s of CPU, which a suite of commands on two cores pays in minutes."""
    return _shared.api_url()


def stop_shared() -> None:
    _shared.stop()
