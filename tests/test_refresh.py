"""notebooks/refresh.py as a user runs it: a notebook executed in place with its outputs, a name that is no notebook
there, and Ctrl-C while a cell runs (exit 130, the notebook as it was, its kernel stopped)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from tests.conftest import ROOT

# refresh.py's main() on a folder of the test's (the script itself refreshes notebooks/)
SCRIPT = (
    "import sys; from pathlib import Path; sys.path.insert(0, 'notebooks'); import refresh; "
    "sys.exit(refresh.main(sys.argv[2:], Path(sys.argv[1])))"
)


def _notebook(folder: Path, *cells: str) -> Path:
    path = folder / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells]), path)
    return path


def _refresh(folder: Path, *names: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", SCRIPT, str(folder), *names]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _gone(pid: int) -> bool:
    """No such process, or a zombie nobody reaps here (the kernel's parent has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def test_refresh_executes_a_notebook_in_place(tmp_path):
    path = _notebook(tmp_path, "print(6 * 7)")
    out, err = _refresh(tmp_path).communicate(timeout=300)
    assert "refreshed tiny.ipynb" in out, err
    (cell,) = nbformat.read(path, as_version=4).cells
    assert cell.execution_count == 1
    assert cell.outputs[0].text == "42\n"


def test_refresh_names_the_notebooks_there_for_an_unknown_name(tmp_path):
    path = _notebook(tmp_path, "print(1)")
    before = path.read_bytes()
    process = _refresh(tmp_path, "nope.ipynb")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert "no notebook nope.ipynb" in err and "the notebooks are: tiny.ipynb" in err
    assert "Traceback" not in err
    assert path.read_bytes() == before


def test_ctrl_c_in_a_cell_exits_130_and_leaves_the_notebook_as_it_was(tmp_path):
    started = tmp_path / "kernel.pid"
    path = _notebook(
        tmp_path,
        "print('first cell')",
        f"import os, time\nopen({str(started)!r}, 'w').write(str(os.getpid()))\ntime.sleep(300)",
    )
    before = path.read_bytes()
    process = _refresh(tmp_path)
    deadline = time.monotonic() + 240
    while not started.exists() or not started.read_text():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    kernel = int(started.read_text())
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted: the notebook being executed is left as it was" in err
    assert "Traceback" not in err
    assert path.read_bytes() == before
    deadline = time.monotonic() + 30
    while not _gone(kernel):
        assert time.monotonic() < deadline, f"kernel {kernel} left running"
        time.sleep(0.2)
