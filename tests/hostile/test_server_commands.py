"""`devicepipe trigger` and `serve` given what they cannot work with: no server, a server that does not answer, a
schedule that is no cron expression. Exit 2 with one message, nothing started. (An unknown deployment on a live
server: tests/flows/test_schedules.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT
from tests.dask_cluster import free_port
from tests.flows.cli.test_cli import assert_user_error


def _devicepipe(*args: str, tmp_path, **settings: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(tmp_path / "home"), **settings}
    if "PREFECT_API_URL" not in settings:
        env.pop("PREFECT_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )


def test_trigger_without_any_server(tmp_path):
    result = _devicepipe("trigger", "train", tmp_path=tmp_path)
    assert_user_error(result, "No Prefect server is configured or running", "devicepipe server start")


def test_trigger_at_an_address_nothing_answers(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/api"
    result = _devicepipe("trigger", "train", tmp_path=tmp_path, PREFECT_API_URL=url)
    assert_user_error(result, f"Nothing answers at {url}")


def test_serve_with_a_schedule_that_is_no_cron_expression(tmp_path):
    result = _devicepipe("serve", "--train-cron", "every night", tmp_path=tmp_path)
    assert_user_error(result, "--train-cron 'every night' is not a cron expression", "five fields")
