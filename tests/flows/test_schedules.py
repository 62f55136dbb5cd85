"""Schedules against a real Prefect server on 127.0.0.1: `devicepipe serve` runs the train deployment on a
short interval, `devicepipe trigger train` starts one from the command line, `prefect flow-run ls` lists them; the
served tune deployment, triggered, gives the next train its settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.dask_cluster import free_port
from tests.flows.cli.test_cli import assert_user_error, manifest_notes
from tests.processes import stop_group

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Prefect server on 127.0.0.1 with its own database; yields the environment that points at it."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    log = open(home / "server.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return process.poll() is not None and pytest.fail((home / "server.log").read_text()[-2000:])

    try:
        _wait(healthy, 120, "the Prefect server")
        yield env
    finally:
        stop_group(process)
        log.close()


def _completed_runs(env: dict, cwd: Path) -> list[dict]:
    """Completed train runs, as `prefect flow-run ls` lists them (future scheduled runs filtered out)."""
    command = [str(BIN / "prefect"), "flow-run", "ls", "--flow-name", "train", "--state-type", "COMPLETED"]
    out = subprocess.run(
        [*command, "--output", "json", "--limit", "50"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout or "[]")


def _trigger(name: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    """`devicepipe trigger NAME`, waiting for the run."""
    command = [sys.executable, "-m", "flows.cli", "trigger", name]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_serve_runs_on_schedule_and_trigger_starts_a_run(server, flights_dir, tmp_path):
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "serve",
            "--train-interval",
            "30",
            "--score-interval",
            "0",
            "--sample",
            "0.02",
            "--epochs",
            "1",
            "--model",
            "xgboost",
            "--data-dir",
            str(flights_dir),
            "--output",
            str(tmp_path / "runs"),
            "--tune-trials",
            "3",
        ],
        env={**server, "PREFECT_RUNNER_POLL_FREQUENCY": "2"},  # the scheduled run picked up within 2 s, not 10
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "serve.log", "w"),  # noqa: SIM115
        start_new_session=True,
    )
    try:

        def written() -> bool:
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            return (tmp_path / "runs" / "latest" / "metrics.json").exists()

        # The run's own folder first (a file to look at), then the server's record of it: each `prefect flow-run ls`
        # is a process of its own that would take a core from the run it waits for
        _wait(written, 240, "the scheduled train run to write its folder")
        scheduled = _wait(lambda: _completed_runs(server, tmp_path), 60, "the scheduled train run to complete")
        untuned = manifest_notes(tmp_path / "runs" / "latest")
        assert f"xgboost trained with its default settings: {tmp_path}/runs/tune-latest names no finished tune yet" in (
            untuned
        )
        tuned = _trigger("tune", server, tmp_path)
        assert tuned.returncode == 0, tuned.stdout + tuned.stderr[-3000:]
        folder = (tmp_path / "runs" / "tune-latest").resolve()
        assert folder.name.startswith("tune-weekly-") and (folder / "best_params.json").exists()

        triggered = _trigger("train", server, tmp_path)
        assert triggered.returncode == 0, triggered.stdout + triggered.stderr[-3000:]
        assert "Completed" in triggered.stdout
        (note,) = [n for n in manifest_notes(tmp_path / "runs" / "latest") if n.startswith("xgboost trained with")]
        assert note.startswith(f"xgboost trained with the settings tuned in {folder} (study '{folder.name[5:]}', trial")
        runs = _completed_runs(server, tmp_path)
        assert len(runs) >= len(scheduled) + 1
        assert all(r["deployment_id"] for r in runs)  # both came from the served deployment
        for name, said in [("nope/nope", "has no deployment 'nope/nope'"), ("tran", "Expected train, score, tune or")]:
            assert_user_error(_trigger(name, server, tmp_path), said)
    finally:
        stop_group(serve)
