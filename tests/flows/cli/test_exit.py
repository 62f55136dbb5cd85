"""How the command ends: Python's own exit work done (threads joined, atexit functions run, output flushed), its
exit code kept, and no interpreter teardown after it (where C++ threads of torch or pyarrow can abort a process
that has already printed its result)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

# The command as `devicepipe` runs it, with an atexit function, a thread and a thread pool (MLflow's kind) of a
# library's, which end after the command
SCRIPT = """
import atexit, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
out = Path(sys.argv[1])
atexit.register(lambda: (out / "atexit").write_text("ran"))
threading.Thread(target=lambda: (time.sleep(0.5), (out / "thread").write_text("joined"))).start()
ThreadPoolExecutor(1).submit(lambda: (time.sleep(0.5), (out / "pool").write_text("done")))
if sys.argv[2] == "--bug":  # a bug in the command: what no handler expects
    import pipelines.runs.listing
    pipelines.runs.listing.list_runs = lambda root: 1 / 0
    del sys.argv[2]
sys.argv = ["devicepipe", *sys.argv[2:]]
from flows.cli.app import main
main()
"""


def _command(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", SCRIPT, str(tmp_path), *args]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_a_user_error_exits_2_after_the_exit_work(tmp_path):
    result = _command(tmp_path, "runs", "--dir", str(tmp_path / "nowhere"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and "does not exist" in result.stderr
    assert (tmp_path / "atexit").read_text() == "ran" and (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "pool").read_text() == "done"  # its pool told to stop once its work is done, not waited on


def test_success_exits_0_with_its_output_flushed(tmp_path):
    result = _command(tmp_path, "runs", "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "no runs" in result.stdout
    assert (tmp_path / "atexit").read_text() == "ran" and (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "pool").read_text() == "done"  # its pool told to stop once its work is done, not waited on


def test_an_internal_error_exits_1_with_its_traceback(tmp_path):
    """A bug still shows where it happened."""
    result = _command(tmp_path, "--bug", "runs", "--dir", str(tmp_path))
    assert result.returncode == 1, result.stderr
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr
    assert (tmp_path / "atexit").read_text() == "ran"
