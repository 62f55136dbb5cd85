"""The `devicepipe runs` command, registered on the app by flows/cli/app.py:

    devicepipe runs [DIR]                   the runs in DIR (default runs), newest first
    devicepipe runs compare RUN RUN...      runs side by side (a path, or a name in --dir)

The logic is pipelines/runs/listing.py and pipelines/runs/compare.py; bad arguments are a ConfigError (exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.errors import ConfigError

COMPARE = "compare"


def runs(
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="DIR | compare RUN RUN...",
            help="A folder of runs (default: runs), or `compare` and two or more runs.",
            show_default=False,
        ),
    ] = None,
    folder: Annotated[
        Path, typer.Option("--dir", help="The folder of runs: listed without DIR; compare finds runs by name in it.")
    ] = Path("runs"),
) -> None:
    """List the runs in a folder, newest first (dataset, backend, best model, its test metric); or compare runs
    side by side (metrics, seconds per stage, settings that differ)."""
    arguments = list(arguments or [])
    if arguments[:1] == [COMPARE]:
        # start-up time: imported when the command runs, not when the command line starts
        from pipelines.runs.compare import compare_runs

        typer.echo(compare_runs([Path(name) for name in arguments[1:]], folder))
        return
    if len(arguments) > 1:
        raise ConfigError(
            f"devicepipe runs takes one folder, found {len(arguments)} arguments: {' '.join(arguments)}. To compare "
            "runs: devicepipe runs compare RUN RUN..."
        )
    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.runs.listing import list_runs, runs_table

    root = Path(arguments[0]) if arguments else folder
    typer.echo(runs_table(list_runs(root), root))
