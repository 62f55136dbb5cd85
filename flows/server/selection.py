"""Which Prefect server a `devicepipe run` records its flow run to, found (or started) while the run imports.

The first that applies:

1. configured: PREFECT_API_URL, in the environment or in Prefect's settings (profile, prefect.toml, .env);
2. background: the server that `devicepipe server start` (or `prefect server start --background`) left running,
   known by Prefect's PID file in PREFECT_HOME and answering at PREFECT_SERVER_API_HOST:PREFECT_SERVER_API_PORT;
3. temporary: a server for this run only, as Prefect's own temporary server (`create_app(ephemeral=True)`, the
   same database in PREFECT_HOME), stopped when the run ends.

`early_server()` runs on the first line of `run`: it binds a free port on 127.0.0.1 and starts
flows/server/process.py, which asks Prefect's settings (1, 2) and otherwise serves on that port, while this
process imports torch and the rest and checks its input. `settle()`, called before this process imports Prefect,
reads the answer and points PREFECT_API_URL at the server; `ready()`, before the flow, waits until it answers.
The temporary server ends with the run however the run ends: it watches a pipe from this process, so a run
killed with SIGKILL takes it down too.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flows import fixed_cost
from flows.server import crash_detection
from pipelines.errors import ConfigError

PID_FILE = "server.pid"  # prefect.cli._server_utils.SERVER_PID_FILE_NAME: where `--background` records its process
STOP_SECONDS = 5  # as Prefect's temporary server: a graceful stop, then a kill
# The least time a temporary server is given to start: on a busy machine a fresh database's migrations alone can
# take longer than Prefect's default PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (20); a higher setting wins.
STARTUP_SECONDS = 60
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*")  # "sqlite3.OperationalError: ..."


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether the Prefect API at `url` (ending in /api) answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def background_url() -> str:
    """Where Prefect's background server listens, from Prefect's settings (a wildcard host means this machine)."""
    from prefect.settings import get_current_settings

    api = get_current_settings().server.api
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(api.host, api.host)
    return f"http://{f'[{host}]' if ':' in host else host}:{api.port}/api"


def background_pid_file() -> Path:
    """Where `prefect server start --background` records its server's process: PID_FILE in PREFECT_HOME."""
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home) / PID_FILE


def background_server_url() -> str | None:
    """The URL of a server started in the background and still answering, or None."""
    if not background_pid_file().exists():
        return None
    url = background_url()
    return url if healthy(url) else None


@dataclass(kw_only=True)
class PrefectServer:
    """The server of one command: `use` is configured, background, temporary, or prefect (Prefect was already
    imported in this process, as in tests and notebooks: Prefect's own settings decide, nothing is started)."""

    use: str
    url: str = ""
    process: subprocess.Popen | None = None
    verdict: IO[str] | None = None
    log: Path | None = None
    port: int = 0

    def settle(self) -> PrefectServer:
        """Before this process imports Prefect: learn which server to use and point PREFECT_API_URL at it."""
        if self.verdict is None:
            return self
        with self.verdict as channel:
            line = channel.readline()  # written once the process has read Prefect's settings
        self.verdict = None
        if not line:
            raise self._failed("ended before it could read Prefect's settings")
        found = json.loads(line)
        if found["use"] != "temporary":
            self.use, self.url = found["use"], found["url"]
            self.stop()  # it ends by itself; this reaps it
        else:
            self.url = f"http://127.0.0.1:{self.port}/api"
            os.environ.setdefault("PREFECT_UI_URL", "")  # it serves no UI, as Prefect's: no "View at" link to one
        if self.use != "configured":
            os.environ["PREFECT_API_URL"] = self.url
        return self

    def ready(self) -> None:
        """Before the flow: a real server gets the automation that crashes silent runs
        (flows/server/crash_detection.py); a temporary one is waited for (STARTUP_SECONDS, or
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)."""
        if self.use in ("configured", "background"):
            try:
                crash_detection.ensure()
            except Exception as error:  # a server that refuses automations still records the run
                print(f"note: no crash detection on this Prefect server ({error})", file=sys.stderr)
        if self.use != "temporary":
            return
        from prefect.settings import get_current_settings

        fixed_cost.mark("server-wait")
        seconds = max(STARTUP_SECONDS, get_current_settings().server.ephemeral.startup_timeout_seconds)
        deadline = time.monotonic() + seconds
        while not healthy(self.url, timeout=1.0):
            if self.process is None or self.process.poll() is not None:
                raise self._failed("ended before it answered")
            if time.monotonic() > deadline:
                raise self._failed(f"did not answer within {seconds} s")
            time.sleep(0.02)
        fixed_cost.mark("server-ready")

    def stop(self) -> None:
        """End the server process (closing its pipe asks it to stop), at most STOP_SECONDS, then kill it."""
        process, self.process = self.process, None
        if process is None:
            return
        if self.use == "temporary":
            fixed_cost.mark("server-stopping")
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self.use == "temporary":
            fixed_cost.mark("server-stopped")
        if self.log is not None and process.returncode == 0:
            self.log.unlink(missing_ok=True)

    def describe(self) -> str:
        """One line for the user: which server this run records to."""
        if self.use == "configured":
            return f"Prefect server: {self.url} (PREFECT_API_URL)"
        if self.use == "background":
            return f"Prefect server: {self.url}, running in the background (`devicepipe server stop` stops it)"
        if self.use == "temporary":
            return (
                f"Prefect server: a temporary one for this run at {self.url}, with the database in PREFECT_HOME "
                "(`devicepipe server start` keeps one running for the runs after)"
            )
        from prefect.settings import get_current_settings

        return f"Prefect server: {get_current_settings().api.url or 'a temporary one that Prefect starts'}"

    def _failed(self, what: str) -> ConfigError:
        said = self.log.read_text().splitlines() if self.log is not None and self.log.exists() else []
        errors = [line for line in said if ERROR_LINE.match(line)]  # the exception, not its traceback
        reason = (errors or [line for line in said if line.strip()] or ["(none)"])[-1].strip()
        return ConfigError(
            f"The temporary Prefect server for this run {what}; its last error: {reason} (all it said: {self.log}). "
            "Check that "
            "PREFECT_HOME is writable, raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS on a busy machine, or "
            "point PREFECT_API_URL at a running server (`devicepipe server start`)."
        )


def early_server() -> PrefectServer:
    """Called first thing by a command that runs a flow; see the module's docstring."""
    if "prefect" in sys.modules:
        return PrefectServer(use="prefect")
    if url := os.environ.get("PREFECT_API_URL"):
        return PrefectServer(use="configured", url=url)
    return _spawn()


def _spawn() -> PrefectServer:
    listening = socket.create_server(("127.0.0.1", 0))  # bound and listening: the port is ours from now on
    reading, writing = os.pipe()
    handle, log = tempfile.mkstemp(prefix="devicepipe-prefect-server-", suffix=".log")
    command = [sys.executable, "-m", "flows.server.process", str(listening.fileno()), str(writing), log]
    with listening, os.fdopen(handle, "w") as output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=output,
            pass_fds=(listening.fileno(), writing),
            start_new_session=True,  # Ctrl-C reaches the run, which then records the interruption and stops it
        )
        port = listening.getsockname()[1]
    os.close(writing)
    server = PrefectServer(use="temporary", process=process, verdict=os.fdopen(reading), log=Path(log), port=port)
    atexit.register(server.stop)  # after Prefect's own exit hooks have sent the last logs and events
    fixed_cost.mark("server-spawned")
    return server
