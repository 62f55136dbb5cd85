"""`devicepipe server start|stop|status`: a Prefect server kept running for the runs that follow, and which server a
run would use now (flows/server/selection.py). Registered on the app by flows/cli/app.py.

`start` and `stop` are Prefect's own `prefect server start --background` and `prefect server stop` (the server's
address: PREFECT_SERVER_API_HOST and PREFECT_SERVER_API_PORT, 127.0.0.1:4200 by default; its database in
PREFECT_HOME). A run finds that server by Prefect's PID file and a health check, so no run pays for starting or
stopping one, and its UI shows every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import typer

from flows.server.selection import (
    STARTUP_SECONDS,
    PrefectServer,
    background_pid_file,
    background_server_url,
    background_url,
    healthy,
)
from pipelines.errors import ConfigError

server_app = typer.Typer(no_args_is_help=True, help="A Prefect server kept running for the runs that follow.")


def _prefect(*args: str) -> subprocess.CompletedProcess:
    # Prefect's server telemetry races the first writes to a fresh SQLite database; an explicit setting still wins.
    env = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", **os.environ}
    command = [sys.executable, "-m", "prefect", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


@server_app.command()
def start() -> None:
    """Start Prefect's server in the background; from then on `devicepipe run` records to it."""
    from prefect.settings import get_current_settings

    if url := background_server_url():
        typer.echo(f"a Prefect server is already running in the background: {url}")
        return
    done = _prefect("server", "start", "--background")
    url = background_url()
    # As for a temporary server: at least STARTUP_SECONDS, since on a busy machine the first start (a fresh
    # database's migrations) can take longer than Prefect's 20 s; a higher setting wins
    seconds = max(STARTUP_SECONDS, get_current_settings().server.ephemeral.startup_timeout_seconds)
    deadline = time.monotonic() + seconds
    while done.returncode == 0 and not healthy(url, timeout=1.0) and time.monotonic() < deadline and _starting():
        time.sleep(0.2)
    if done.returncode != 0 and "already in use" in done.stdout + done.stderr:
        port = get_current_settings().server.api.port
        raise ConfigError(
            f"Port {port} on this machine is taken, so Prefect's server cannot listen at {url}. Choose a free port "
            "for the server and the runs that use it: `prefect config set PREFECT_SERVER_API_PORT=<port>` (or the "
            "environment variable), then `devicepipe server start` again; or stop what holds the port."
        )
    if done.returncode != 0 or not healthy(url):
        said = (done.stdout + done.stderr).strip().splitlines()[-3:]
        if done.returncode == 0:  # started, but not answering: stopped, so that nothing is left running
            _prefect("server", "stop")
            said = [
                f"no answer within {seconds} s, so it was stopped (on a slow machine, raise "
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)"
            ]
        raise ConfigError(f"Prefect's server did not start at {url}: {' '.join(said) or 'no answer'}")
    typer.echo(f"Prefect server running in the background at {url} (UI: {url.removesuffix('/api')}).")
    typer.echo("`devicepipe run` records to it from now on; `devicepipe server stop` stops it.")


def _starting() -> bool:
    """Whether the process Prefect recorded for its background server is still alive."""
    import psutil  # start-up time: only while a server starts

    try:
        return psutil.pid_exists(int(background_pid_file().read_text().strip()))
    except (OSError, ValueError):
        return False


@server_app.command()
def stop() -> None:
    """Stop the server that `devicepipe server start` started."""
    done = _prefect("server", "stop")
    typer.echo((done.stdout + done.stderr).strip() or "stopped")


@server_app.command()
def status() -> None:
    """Which Prefect server `devicepipe run` would use now."""
    # start-up time: imported when the command runs, not when the command line starts
    from flows.server.process import verdict

    found = verdict()
    if found["use"] == "temporary":
        typer.echo("Prefect server: none configured or running; each run starts a temporary one.")
    else:
        typer.echo(PrefectServer(use=found["use"], url=found["url"]).describe())
