"""The Prefect server of a `devicepipe run`: started early for the run, tied to the run's life, or the
configured one; which one is used is said."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import psutil

from flows.server import configured_url, start_early
from tests.conftest import ROOT


def _uvicorn_children(pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [child for child in children if "uvicorn" in " ".join(child.cmdline())]


def test_a_run_killed_with_sigkill_takes_its_embedded_server_down(tmp_path):
    """SIGKILL to the run's process alone (not its group): its embedded server must not outlive it."""
    pd.DataFrame({"x": range(200), "y": [0, 1] * 100}).to_csv(tmp_path / "t.csv", index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "flows.cli", "run", "--data", "t.csv", "--target", "y", "--no-progress"]
    run = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while not (servers := _uvicorn_children(run.pid)):
            assert run.poll() is None, "the run ended before its server started"
            assert time.monotonic() < deadline, "no embedded server process appeared"
            time.sleep(0.05)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        gone, alive = psutil.wait_procs(servers, timeout=15)
        assert not alive, f"orphan server processes: {[p.pid for p in alive]}"
        assert gone
    finally:
        for server in servers:  # an orphan left by a failure here must not outlive the test
            if server.is_running():
                server.kill()
        if run.poll() is None:
            run.kill()


def test_a_configured_server_is_the_one_used(monkeypatch):
    """PREFECT_API_URL (or a Prefect already loaded with its settings) names the server; none is started."""
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    monkeypatch.delitem(sys.modules, "prefect", raising=False)
    assert configured_url() == "http://127.0.0.1:4200/api"
    server = start_early()
    assert not server.started and server.process is None
    assert server.describe() == "Prefect server: the configured one at http://127.0.0.1:4200/api"


def test_the_active_profile_names_a_configured_server(monkeypatch, tmp_path):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delitem(sys.modules, "prefect", raising=False)
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://10.0.0.5:4200/api"\n')
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(profiles))
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    assert configured_url() == "http://10.0.0.5:4200/api"
    profiles.write_text('active = "local"\n[profiles.local]\n')
    assert configured_url() is None
