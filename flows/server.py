"""Which Prefect server a command talks to, and the embedded one started as early as possible.

A server that is configured (PREFECT_API_URL in the environment or the active profile, or a Prefect already
imported into this process with its own settings, as under `prefect.testing`) is used as it is. Otherwise
`devicepipe run` starts the same server Prefect's ephemeral mode would start (uvicorn on
`prefect.server.api.server:create_app`, UI off, the same PREFECT__SERVER_EPHEMERAL settings, the same database
under PREFECT_HOME), but at the top of the command, so that its start-up overlaps the imports and the input
checks instead of following them, and points PREFECT_API_URL at it. On Linux the server process gets
PR_SET_PDEATHSIG: if the run is killed (SIGKILL included) the kernel takes its server down with it, so no orphan
server is left behind. It is stopped at exit, after Prefect's own exit handlers have sent the last logs and
states.

Nothing here imports prefect: finding its package folder is enough to start the server.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.errors import ConfigError

STARTUP_TIMEOUT_SECONDS = 60.0
PR_SET_PDEATHSIG = 1
EMBEDDED_BY_PREFECT = "embedded by Prefect"
# As Prefect's SubprocessASGIServer runs it (prefect/server/api/server.py).
UVICORN = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app"]
EPHEMERAL = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
UVICORN += ["--host", "127.0.0.1", "--log-level", "error", "--lifespan", "on"]


@dataclass
class Server:
    """The Prefect server of this process: `started` when this process started it (and stops it at exit)."""

    api_url: str
    started: bool
    process: subprocess.Popen | None = field(default=None, repr=False)

    def describe(self) -> str:
        if self.api_url == EMBEDDED_BY_PREFECT:
            return "Prefect server: Prefect's own embedded one (Prefect was loaded before the run started)"
        if self.started:
            return f"Prefect server: started for this run at {self.api_url} (stopped when the run ends)"
        return f"Prefect server: the configured one at {self.api_url}"

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Block until the server answers /health; a server that died or never answered is a ConfigError."""
        if not self.started:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        code = None if self.process is None else self.process.poll()
        raise ConfigError(
            f"the embedded Prefect server at {self.api_url} did not start (exit code {code}). "
            "Set PREFECT_API_URL to a running server (`prefect server start`), or check PREFECT_HOME is writable."
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def configured_url() -> str | None:
    """The API URL of a server configured for this process, if any."""
    if "prefect" in sys.modules:  # a Prefect already loaded (a test harness, a notebook): its settings rule
        from prefect.settings import get_current_settings

        return get_current_settings().api.url or EMBEDDED_BY_PREFECT
    return os.environ.get("PREFECT_API_URL") or _profile_url()


def _profile_url() -> str | None:
    """PREFECT_API_URL of the active Prefect profile (profiles.toml), read without importing prefect."""
    home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect")).expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active", "ephemeral")
    return profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL") or None


def start_early() -> Server:
    """The configured server, or a new embedded one whose start-up is under way when this returns."""
    if url := configured_url():
        return Server(api_url=url, started=False)
    port = _free_port()
    process = subprocess.Popen(
        [*UVICORN, "--app-dir", str(_prefect_folder().parent), "--port", str(port)],
        env={"PREFECT_SERVER_ANALYTICS_ENABLED": "false", **os.environ, **EPHEMERAL},
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    server = Server(api_url=f"http://127.0.0.1:{port}/api", started=True, process=process)
    os.environ["PREFECT_API_URL"] = server.api_url
    atexit.register(server.stop)  # registered before prefect is imported, so it runs after Prefect's handlers
    return server


def _prefect_folder() -> Path:
    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("Prefect is not installed in this environment: pip install -e . installs it.")
    return Path(next(iter(spec.submodule_search_locations)))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the server's process, before exec: the kernel sends it SIGKILL when its parent dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
