"""The `run` command's way into the train flow (flows/cli/app.py parses and checks; this runs): the Prefect server
found or started early (flows/server/selection.py), the models' libraries imported while it may still be starting, and a
console that shows bad input found inside the flow as a message, not a traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from flows import fixed_cost
from flows.server.selection import PrefectServer
from pipelines.config import RunConfig
from pipelines.errors import DevicepipeError


def train_on(server: PrefectServer, config: RunConfig, progress: bool, resume: Path | None) -> str:
    """The train flow, recorded on `server`; the models' libraries are imported while that server may be starting."""
    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.backend import select as select_backend

    # --backend gpu without a usable GPU fails here too. The one selection of this process, memory settings
    # included: the flow's selection returns this same backend.
    chosen = select_backend(config.backend, rmm_pool=config.rmm_pool, spill=config.spill)
    server.settle()  # before Prefect is imported: PREFECT_API_URL names the server this run uses
    # Prefect is imported with the flow, only now that the server is settled (and not when the command line starts)
    from flows.train import train
    from pipelines.models import warm_up

    _console_without_user_tracebacks()
    fixed_cost.watch_prefect_log()
    typer.echo(server.describe(), err=True)
    warm_up(config, chosen)
    server.ready()
    fixed_cost.mark("flow-call")
    run_dir = train(config, progress=progress, resume=None if resume is None else str(resume))
    fixed_cost.mark("flow-returned")
    return run_dir


class _UserErrorWithoutTraceback(logging.Filter):
    """Bad input found inside a flow (say, a 3-class target) is logged as its message, not a traceback.
    Records reach the console handler after Prefect's API handler, so the UI keeps the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], DevicepipeError):
            record.exc_info, record.exc_text = None, None
        return True


def _console_without_user_tracebacks() -> None:
    from prefect.logging.configuration import setup_logging

    setup_logging()
    for handler in logging.getLogger().handlers:
        handler.addFilter(_UserErrorWithoutTraceback())
