"""The `devicepipe` command line (Typer): `app` and `main`, one module per command group.

May import: flows.deployments, the flows, flows.tasks, flows.server, flows.fixed_cost and pipelines/; the flows
themselves are imported inside the commands that start them (start-up time: `--help` answers at once).
"""

from flows.cli.app import app, main

__all__ = ["app", "main"]
