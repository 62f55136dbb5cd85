"""Prefect's runner for `devicepipe serve`, which stops within seconds when its server is gone.

On SIGTERM or Ctrl-C, Prefect's runner asks the server to cancel the runs in progress and to pause each deployment.
With the server gone, each of those requests is retried for about a minute before it fails with a traceback. This
runner asks first whether the server still answers. If it does not, the runner kills its runs' processes itself,
leaves the deployments as they are, and says so in one line.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from prefect.exceptions import TerminationSignal
from prefect.runner import Runner
from prefect.settings import get_current_settings

from flows.server.selection import healthy

logger = logging.getLogger("devicepipe.serve")

GRACE_SECONDS = 10.0  # how long a run in progress has to stop on SIGTERM before it is killed


class ServeRunner(Runner):
    """A Runner that checks, once per shutdown, whether its server still answers."""

    def __init__(self, deployments: list[Any], **options: Any) -> None:
        super().__init__(**options)
        self._answers: bool | None = None
        for deployment in deployments:
            self.add_deployment(deployment)
        self._names = [f"{deployment.flow_name}/{deployment.name}" for deployment in deployments]

    async def __aenter__(self) -> ServeRunner:
        await super().__aenter__()
        names = " and ".join(self._names)
        ui = get_current_settings().ui_url
        print(
            f"Serving {names}, polling for scheduled runs. Start a run now with `devicepipe trigger NAME`"
            + (f"; see them at {ui}/deployments" if ui else "")
            + ". Stop with Ctrl-C.",
            flush=True,
        )
        return self

    def server_answers(self) -> bool:
        if self._answers is None:
            url = get_current_settings().api.url
            self._answers = bool(url) and healthy(url, timeout=2.0)
            if not self._answers:
                logger.warning(
                    "The Prefect server at %s no longer answers: serve stops without pausing its deployments. A run "
                    "in progress is stopped here, and the server shows it as Running until the server is back (crash "
                    "detection then marks it Crashed).",
                    url,
                )
                self.pause_on_shutdown = False
        return self._answers

    async def cancel_all(self) -> None:
        if self.server_answers():
            await super().cancel_all()
            return
        manager = self._process_manager
        for flow_run_id in manager.flow_run_ids():
            await manager.kill(flow_run_id, grace_seconds=GRACE_SECONDS)

    async def __aexit__(self, *exc_info: Any) -> None:
        if self.pause_on_shutdown:
            self.server_answers()
        await super().__aexit__(*exc_info)


def serve(*deployments: Any, limit: int) -> None:
    """prefect.serve with this runner: serve `deployments` in this process until SIGTERM or Ctrl-C."""
    runner = ServeRunner(list(deployments), limit=limit, pause_on_shutdown=True)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        logger.info("Interrupted: serve stopped.")
