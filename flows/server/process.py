"""The process behind `flows.server.selection.early_server`: which Prefect server a devicepipe command uses, and, when
it is to be a temporary one, that server.

    python -m flows.server.process LISTENING_SOCKET_FD VERDICT_FD LOG

First it asks Prefect's settings, as the command itself would (environment, profile, prefect.toml, .env): a
PREFECT_API_URL there is used; else a server that `devicepipe server start` (or `prefect server start
--background`) left running is used; else this process serves Prefect's API, as Prefect's own temporary server
does (`create_app(ephemeral=True)`: the API and the services a temporary server runs, no UI), on the socket the
command bound for it. The verdict goes to the command as one JSON line on VERDICT_FD. Its output goes to LOG,
which it removes when it ends without an error (the command shows it where the server failed to start).

Its stdin is a pipe from the command: when that closes, the command has ended however it ended (SIGKILL
included), and this process ends too, after a graceful shutdown when the server was up.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import socket
import sys
import threading
from typing import Any

from flows.server.selection import background_server_url

_server: Any = None  # the uvicorn server, once there is one
_log = ""  # this process's output file


def _end_with_the_command() -> None:
    # The raw descriptor, not sys.stdin: a daemon thread blocked in a buffered read would hold the buffer's lock
    # while the interpreter exits on another path, which Python reports as a fatal error.
    while os.read(0, 4096):  # b"" at EOF: the command closed the pipe or has ended
        pass
    if _server is None:  # still importing or deciding: nothing to shut down
        with contextlib.suppress(OSError):
            os.unlink(_log)
        os._exit(0)
    _server.should_exit = True


def verdict() -> dict[str, str]:
    """{"use": "configured" | "background" | "temporary", "url": ...}: the first that applies."""
    from prefect.settings import get_current_settings

    if url := get_current_settings().api.url:
        return {"use": "configured", "url": url}
    if url := background_server_url():
        return {"use": "background", "url": url}
    return {"use": "temporary", "url": ""}


def serve(listening: socket.socket) -> None:
    """Prefect's API, as its temporary server runs it, on `listening` until told to stop."""
    global _server
    import uvicorn
    from prefect.server.api.server import create_app

    config = uvicorn.Config(create_app(ephemeral=True, final=True), log_level="error", lifespan="on")
    _server = uvicorn.Server(config)
    _server.run(sockets=[listening])


def main(argv: list[str]) -> None:
    global _log
    listening, _log = socket.socket(fileno=int(argv[0])), argv[2]
    threading.Thread(target=_end_with_the_command, name="end-with-the-command", daemon=True).start()
    found = verdict()
    with os.fdopen(int(argv[1]), "w") as channel:
        channel.write(json.dumps(found) + "\n")
    if found["use"] == "temporary":
        serve(listening)
        if not _server.started:
            raise SystemExit(f"Prefect's server did not start (its log: {_log})")
        gc.freeze()  # shut down: exit without walking the server's objects for garbage (about a second)
    os.unlink(_log)


if __name__ == "__main__":
    main(sys.argv[1:])
