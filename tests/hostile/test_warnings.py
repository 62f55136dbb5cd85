"""What libraries warn reaches the user as one line each, and warnings that say nothing to a user are not shown: a
column name in a script the figures' font lacks (CJK, emoji) once printed each missing glyph with a line of source."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def _python(code: str, *flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *flags, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_library_warning_in_a_command_is_one_line_without_source():
    code = (
        "import atexit, sys, warnings\n"
        "atexit.register(lambda: warnings.warn('a library said so\\nwith a second line', FutureWarning))\n"
        "sys.argv = ['devicepipe', 'runs', '--help']\n"
        "from flows.cli.app import main\n"
        "main()\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "warning: a library said so (FutureWarning)\n"


def test_column_names_the_figures_font_lacks_draw_without_warnings():
    code = (
        "from pipelines.report import figures\n"
        "png = figures.bars('importance', {'延误时间': 0.3, '🚀 speed': 0.2, 'città': 0.1}, 'AUC drop')\n"
        "assert png.startswith(b'\\x89PNG')\n"
    )
    result = _python(code, "-W", "default")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
