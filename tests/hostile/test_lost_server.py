"""The Prefect server a run records to goes away mid-run (killed). Once the run's folder is written, losing the
server is a warning and exit 0; before that, the run stops with one message and exit 1 (not the input's fault).
Either way after a bounded wait (by default Prefect's client retries 2 + 4 + 8 s a request; here, set to one
retry, 2 s), with no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, write_table
from tests.prefect_server import prefect_server

pytestmark = pytest.mark.slow


def _started(tmp_path):
    return "Beginning flow run" in (tmp_path / "run.log").read_text()


def _writing(tmp_path):
    return bool(list(tmp_path.glob("runs/.incomplete-*/model")))  # write-run has begun writing the bundle


@pytest.mark.parametrize(
    ("when", "code", "said"),
    [
        (_writing, 0, "stopped answering after the run was written"),
        (_started, 1, "stopped answering, so the run stopped"),
    ],
    ids=["while-writing-the-run", "as-the-flow-starts"],
)
def test_a_server_killed_mid_run(tmp_path, when, code, said):
    home = tmp_path / "server-home"
    home.mkdir()
    write_table(tmp_path / "t.parquet", 2000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with prefect_server(home, env) as (server, url):
        args = ["run", "--data", "t.parquet", "--target", "y", "--model", "logistic_regression", "--no-progress"]
        log = tmp_path / "run.log"
        with open(log, "w") as out:
            run = subprocess.Popen(
                [sys.executable, "-m", "flows.cli", *args],
                cwd=tmp_path,
                env={**env, "PREFECT_API_URL": url, "PREFECT_CLIENT_MAX_RETRIES": "1"},  # an explicit setting wins
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 300
            while not when(tmp_path):
                assert run.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline
                time.sleep(0.02)
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            exit_code = run.wait(240)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
    output = log.read_text()
    assert exit_code == code, output[-3000:]
    assert f"the Prefect server at {url} {said}".lower() in output.lower(), output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "Error logging to API" not in output, output[-3000:]  # said once, not for each batch of logs
    assert (tmp_path / "runs" / "latest" / "metrics.json").exists() == (code == 0)
    if code:
        assert not list((tmp_path / "runs").glob("*")), "a run stopped before its first checkpoint leaves nothing"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_serve_whose_server_is_killed_stops_within_seconds(tmp_path, stop):
    """Prefect's runner would ask the lost server to pause each deployment, each request retried for about a
    minute, and fail with a traceback; devicepipe's stops at once and says why in one line."""
    home = tmp_path / "server-home"
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with prefect_server(home, env) as (server, url):
        log = tmp_path / "serve.log"
        with open(log, "w") as out:
            serve = subprocess.Popen(
                [sys.executable, "-m", "flows.cli", "serve", "--score-interval", "0"],
                cwd=tmp_path,
                env={**env, "PREFECT_HOME": str(home), "PREFECT_API_URL": url},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 120
            while "polling for scheduled runs" not in log.read_text():
                assert serve.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            time.sleep(1)
            serve.send_signal(stop)
            exit_code = serve.wait(30)  # Prefect's own runner: about 65 s
        finally:
            if serve.poll() is None:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()
    output = log.read_text()
    assert exit_code == 0, output[-3000:]
    assert f"The Prefect server at {url} no longer answers: serve stops without pausing" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
