"""The `run` command's way into the train flow (flows/cli/app.py parses and checks; this runs): the Prefect server
found or started early (flows/server/selection.py), the models' libraries imported while it may still be starting, and a
console that shows bad input found inside the flow as a message, not a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from flows import fixed_cost
from flows.server.lost import lost_server, quiet_console
from flows.server.selection import PrefectServer
from pipelines.config import RunConfig
from pipelines.errors import DevicepipeError

CLIENT_RETRIES = 3
# Imported by the warm-up thread too: the report's figures (matplotlib), which the run's last task draws
REPORT_MODULES = ("pipelines.report.html",)


def train_on(server: PrefectServer, config: RunConfig, progress: bool, resume: Path | None) -> str:
    """The train flow, recorded on `server`; the models' libraries are imported while that server may be starting."""
    prepare(server, config, also=REPORT_MODULES)
    # Prefect is imported with the flow, only now that the server is settled (and not when the command line starts)
    from flows.train import committed_runs, train

    fixed_cost.mark("flow-call")
    try:
        run_dir = train(config, progress=progress, resume=None if resume is None else str(resume))
    except Exception as exc:
        if not lost_server(exc):
            raise
        run_dir = _after_a_lost_server(server, committed_runs())
    fixed_cost.mark("flow-returned")
    return run_dir


def tune_on(server: PrefectServer, config: RunConfig, request: object, progress: bool) -> str:
    """The tune flow (flows/tune.py), recorded on `server`; returns the tune folder."""
    prepare(server, config)
    # Prefect is imported with the flow, only now that the server is settled (and not when the command line starts)
    from flows.tune import tune

    try:
        return tune(config, request, progress=progress)
    except Exception as exc:
        if not lost_server(exc):
            raise
        raise ServerLost(
            f"The Prefect server at {server.url or 'PREFECT_API_URL'} stopped answering, so the tune stopped. The "
            "trials that ended are kept in the study: run the same devicepipe tune again to go on."
        ) from None


def prepare(server: PrefectServer, config: RunConfig, also: tuple[str, ...] = ()) -> None:
    """Before a flow: the backend chosen, the server settled, the console quietened, the models' libraries (and the
    modules in `also`) imported in a thread while the server may still be starting."""
    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.backend import select as select_backend

    # --backend gpu without a usable GPU fails here too. The one selection of this process, memory settings
    # included: the flow's selection returns this same backend.
    chosen = select_backend(config.backend, rmm_pool=config.rmm_pool, spill=config.spill)
    server.settle()  # before Prefect is imported: PREFECT_API_URL names the server this run uses
    # A server that stops answering is retried for 2 + 4 + 8 s a request, not Prefect's 62 s (an explicit setting wins)
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", str(CLIENT_RETRIES))
    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.models import warm_up

    quiet_console()
    fixed_cost.watch_prefect_log()
    typer.echo(server.describe(), err=True)
    warm_up(config, chosen, also=also)
    server.ready()


class ServerLost(DevicepipeError):
    """The Prefect server stopped answering before the run's results were written: not the input's fault."""

    exit_code = 1


def _after_a_lost_server(server: PrefectServer, committed: list[str]) -> str:
    """The run directory, with a warning, when the run was written before the server went; else ServerLost."""
    where = server.url or "PREFECT_API_URL"
    if committed:
        typer.echo(
            f"warning: the Prefect server at {where} stopped answering after the run was written: {committed[-1]} is "
            "complete; the server may not show this flow run's final state.",
            err=True,
        )
        return committed[-1]
    raise ServerLost(
        f"The Prefect server at {where} stopped answering, so the run stopped (an interrupted run with a checkpoint "
        "is kept: `devicepipe runs` lists it with its --resume command). Start the server again, or unset "
        "PREFECT_API_URL to use a temporary one, and run again."
    )
