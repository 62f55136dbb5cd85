"""A Dask preload for the worker processes devicepipe starts on this machine (LocalCluster): Ctrl-C is not theirs.

A terminal's Ctrl-C goes to every process of its group, the workers included. Each would print its own
KeyboardInterrupt traceback and die under the work in flight; ignoring it leaves the stop to the devicepipe process,
which closes the cluster and its workers with it (exit 130, nothing half-written).

    LocalCluster(..., preload=[QUIET])
"""

from __future__ import annotations

import signal
import threading
from typing import Any

QUIET = "pipelines.cluster.quiet_worker"  # the preload's name, for LocalCluster(preload=[QUIET])


def dask_setup(worker: Any) -> None:
    """Dask calls this in each worker process as it starts, in the thread of its event loop (the main one)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
