"""A run still going, as another terminal sees it: `runs` says it is running with its pid, `--resume` of it is
exit 2 (a second trainer would write the same folder); once its process is killed the folder is resumable at once.
Ctrl-C stops a run with exit 130 and says so, so `devicepipe run && ...` stops too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from pipelines.tuning import counted
from pipelines.tuning.study import journal
from tests.conftest import ROOT, write_table
from tests.flows.cli.test_cli import assert_user_error, devicepipe

pytestmark = pytest.mark.slow


def _start(tmp_path: Path, *more: str, command: tuple[str, ...] = ("run", "--model", "logistic_regression")):
    """A run (or `command`) on a small table in its own process group (with its temporary server), its output to
    run.log."""
    write_table(tmp_path / "t.parquet", 2000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    args = [*command, "--data", "t.parquet", "--target", "y", "--no-progress", *more]
    with open(tmp_path / "run.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.cli", *args],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for(condition, process: subprocess.Popen, what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} after {seconds} s"
        time.sleep(0.05)


def test_a_live_run_is_listed_as_running_and_cannot_be_resumed_twice(tmp_path):
    process = _start(tmp_path, "--epochs", "50")
    try:
        _wait_for(lambda: list(tmp_path.glob("runs/.incomplete-*/config.json")), process, "its config")
        (staging,) = tmp_path.glob("runs/.incomplete-*")
        _wait_for(lambda: (staging / ".run.lock").read_text().strip(), process, "its lock")
        os.killpg(process.pid, signal.SIGSTOP)  # alive, holding its lock, for as long as the checks take
        listed = devicepipe("runs", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert f"running (pid {process.pid})" in listed.stdout and "--resume" not in listed.stdout
        resumed = devicepipe("run", "--resume", str(staging), "--no-progress", cwd=tmp_path)
        assert_user_error(resumed, f"is still running (pid {process.pid})", f"kill {process.pid}")
        assert "Flow run" not in resumed.stderr  # refused before any work
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    listed = devicepipe("runs", cwd=tmp_path)
    assert f"interrupted; continue it with: devicepipe run --resume {staging.relative_to(tmp_path)}" in listed.stdout


def test_ctrl_c_exits_130_and_says_so(tmp_path):
    """SIGINT to the process group, as a terminal's Ctrl-C sends it, while the MLP trains."""
    process = _start(tmp_path, "--epochs", "200", "--output", "runs")
    _interrupt(process, lambda: list(tmp_path.glob("runs/.incomplete-*/checkpoints/mlp.pt")), "a checkpoint")
    log = (tmp_path / "run.log").read_text()
    assert log.rstrip().endswith("interrupted"), log[-2000:]
    (staging,) = tmp_path.glob("runs/.incomplete-*")
    assert f"devicepipe run --resume {staging.relative_to(tmp_path)}" in log
    assert "Traceback" not in log
    _assert_nothing_left(process)


def test_ctrl_c_during_start_up_exits_130(tmp_path):
    process = _start(tmp_path)
    log = tmp_path / "run.log"
    _wait_for(lambda: "Prefect server: a temporary one" in log.read_text(), process, "its server")  # no flow yet
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(120) == 130, log.read_text()[-2000:]
    assert log.read_text().rstrip().endswith("interrupted") and "Traceback" not in log.read_text()
    assert not list(tmp_path.glob("runs/*")), "nothing half written"
    _assert_nothing_left(process)


def test_ctrl_c_stops_a_tune_and_its_worker_processes_and_a_rerun_goes_on(tmp_path):
    """SIGINT to the process group of a tune with --jobs 2: its Dask workers get it too, and print nothing."""
    process = _start(tmp_path, "--trials", "500", "--study", "c", command=("tune", "--model", "mlp", "--jobs", "2"))
    log = tmp_path / "run.log"
    _interrupt(process, lambda: _ended(log.read_text()) >= 3, "three trials")  # in any order: two at a time
    assert log.read_text().rstrip().endswith("interrupted") and "Traceback" not in log.read_text()
    _assert_nothing_left(process)
    done = counted(optuna.load_study(study_name="c.mlp", storage=journal(tmp_path / "runs" / "tune-c")))
    assert done >= _ended(log.read_text()) >= 3  # at least those the log showed
    args = ("--data", "t.parquet", "--target", "y", "--model", "mlp", "--study", "c", "--no-progress")
    again = devicepipe("tune", *args, "--trials", str(done + 1), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"mlp: 1 trial(s) to run ({done} done before)" in again.stderr  # the trials that ended were kept


def _ended(log: str) -> int:
    """Trials a tune's log says ended (completed or pruned)."""
    return log.count(": complete ") + log.count(": pruned ")


def _interrupt(process: subprocess.Popen, condition, what: str) -> None:
    """Ctrl-C (SIGINT to the process group) once `condition` holds; the process exits 130 (SIGKILLed if not)."""
    try:
        _wait_for(condition, process, what)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(120) == 130
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _assert_nothing_left(process: subprocess.Popen) -> None:
    """No process of the run's group (its temporary server) outlives it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes of the run's group {process.pid} are still running")


def test_server_start_on_a_taken_port_names_the_setting_that_moves_it(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(tmp_path / "home")}
        env |= {"PREFECT_SERVER_API_PORT": str(port), "PREFECT_SERVER_API_HOST": "127.0.0.1"}
        env.pop("PREFECT_API_URL", None)
        result = subprocess.run(
            [sys.executable, "-m", "flows.cli", "server", "start"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert_user_error(result, f"Port {port} on this machine is taken", "PREFECT_SERVER_API_PORT")
    assert "--port" not in result.stderr
