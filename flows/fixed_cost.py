"""Timestamps of a command's fixed cost, read by `devicepipe bench --fixed-cost` (benchmarks/fixed_cost.py).

Where the environment variable DEVICEPIPE_FIXED_COST_LOG names a file, `mark(name)` appends one JSON line
`{"mark": name, "t": <wall-clock seconds>}` to it; otherwise it does nothing (one dictionary lookup). The marks,
in the order a `devicepipe run` makes them:

    main               the CLI's entry point is running (interpreter started, CLI module imported)
    run                the arguments are parsed; `run` begins
    server-spawned     a temporary Prefect server was started for this run (flows/server/selection.py)
    flow-call          imports and input checks done; the train flow is called
    server-wait, server-ready   the run waited for its Prefect server from the first to the second
    stages-begin, stages-end    the first stage is called, the last one returned (inside the flow)
    stage:NAME:begin, stage:NAME:end   the stage's own function, inside its Prefect task (`timed`)
    run-written        the run directory is complete (inside the flow)
    flow-returned      the train flow returned
    server-stopping, server-stopped   the temporary server is asked to stop; it has exited
    main-end           the CLI is about to exit

Three more come from Prefect's own log lines, wherever Prefect starts a temporary server itself:
`prefect-server-starting`, `flow-run-begins` and `prefect-server-stopping`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

ENV_VAR = "DEVICEPIPE_FIXED_COST_LOG"
# Prefect's log lines that mark a step no code of ours runs: (logger name prefix, message prefix) -> mark.
PREFECT_LINES = {
    ("prefect", "Starting temporary server"): "prefect-server-starting",
    ("prefect", "Stopping temporary server"): "prefect-server-stopping",
    ("prefect.flow_runs", "Beginning flow run"): "flow-run-begins",
}


def enabled() -> bool:
    return bool(os.environ.get(ENV_VAR))


def mark(name: str) -> None:
    """Append `name` and the time now to the fixed-cost log, if one is asked for."""
    path = os.environ.get(ENV_VAR)
    if path:
        with open(path, "a") as log:
            log.write(json.dumps({"mark": name, "t": time.time()}) + "\n")


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` itself; where marks are asked for, `function` between marks `stage:NAME:begin` and `:end`, so that
    a stage's own work can be told from its task's bookkeeping. Decided once, when the task is made."""
    if not enabled():
        return function

    @functools.wraps(function)
    def marked(*args: Any, **kwargs: Any) -> Any:
        mark(f"stage:{name}:begin")
        try:
            return function(*args, **kwargs)
        finally:
            mark(f"stage:{name}:end")

    return marked


class _PrefectLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        for (logger, prefix), name in PREFECT_LINES.items():
            if record.name.startswith(logger) and str(record.msg).startswith(prefix):
                mark(name)


def watch_prefect_log() -> None:
    """Mark Prefect's own log lines (PREFECT_LINES), once Prefect's logging is configured; only when asked."""
    if enabled():
        logging.getLogger().addHandler(_PrefectLines(level=logging.INFO))
