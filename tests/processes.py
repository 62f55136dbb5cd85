"""Processes the tests start in a session of their own (servers, commands): stopped with their whole group."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_group(process: subprocess.Popen, seconds: float = 30) -> None:
    """SIGTERM to the process's group, SIGKILL after `seconds`; waits for it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
