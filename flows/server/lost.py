"""A Prefect server that stopped answering, told apart from other failures, and a console that shows it (and bad
input found inside a flow) as a message instead of a traceback."""

from __future__ import annotations

import logging

from pipelines.errors import DevicepipeError


def lost_server(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it was raised from, is a connection to the Prefect API that failed (a request,
    or the events websocket)."""
    # start-up time: httpx and websockets come with Prefect, imported only once a failure is looked at
    import httpx
    from websockets.exceptions import ConnectionClosed

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (httpx.TransportError, ConnectionClosed)):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


class _WithoutTraceback(logging.Filter):
    """Bad input found inside a flow (say, a 3-class target), or a Prefect server that stopped answering, is logged
    as its message, not a traceback.
    Records reach the console handler after Prefect's API handler, so the UI keeps the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and (isinstance(record.exc_info[1], DevicepipeError) or lost_server(record.exc_info[1])):
            record.exc_info, record.exc_text = None, None
        return True


def quiet_console() -> None:
    """Prefect's logging set up, its console handlers filtered as above. Logs that cannot reach a lost server are
    dropped without the "--- Error logging to API ---" lines Prefect writes for each batch: the command says once
    that the server was lost."""
    # start-up time: Prefect is imported when the command runs, not when the command line starts
    from prefect.logging.configuration import setup_logging

    setup_logging()
    logging.raiseExceptions = False  # what Prefect's log worker checks before writing those lines
    for handler in logging.getLogger().handlers:
        handler.addFilter(_WithoutTraceback())
