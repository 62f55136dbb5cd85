"""`devicepipe serve` and `devicepipe trigger`: the deployments on their schedules, and a run of one started by hand
(registered on the app by flows/cli/app.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows import defaults
from flows.cli.tune import families_to_tune
from pipelines.config import RunConfig
from pipelines.errors import ConfigError


def serve(
    train_cron: Annotated[str, typer.Option(help="When the train deployment runs (cron).")] = defaults.TRAIN_CRON,
    train_interval: Annotated[int | None, typer.Option(help="Run train every N seconds instead of by cron.")] = None,
    score_interval: Annotated[
        int, typer.Option(help="Run score every N seconds (0: only when triggered).")
    ] = defaults.SCORE_INTERVAL,
    score_data: Annotated[str, typer.Option(help="What the score deployment scores.")] = defaults.SCORE_DATA,
    sample: Annotated[float | None, typer.Option(help="Train deployment: fraction of rows.")] = None,
    epochs: Annotated[int, typer.Option(help="Train deployment: most MLP epochs.")] = RunConfig.epochs,
    output: Annotated[Path, typer.Option(help="Train deployment: folder for run directories.")] = Path(
        RunConfig.output
    ),
    data_dir: Annotated[Path, typer.Option(help="Train deployment: where the default data is staged.")] = Path(
        RunConfig.data_dir
    ),
    model: Annotated[list[str] | None, typer.Option(help="Train deployment: baselines to fit.")] = None,
    limit: Annotated[int, typer.Option(help="Most runs at once (one per GPU is safe).")] = defaults.RUN_LIMIT,
    no_score_fail_on_drift: Annotated[
        bool, typer.Option("--no-score-fail-on-drift", help="A score run with a drift alert still completes.")
    ] = False,
    tune_cron: Annotated[
        str, typer.Option(help="When the tune deployment runs (cron; none: no tune, train on the defaults).")
    ] = defaults.TUNE_CRON,
    tune_trials: Annotated[int, typer.Option(help="Tune deployment: trials per family.")] = defaults.TUNE_TRIALS,
    tune_model: Annotated[list[str] | None, typer.Option(help="Tune deployment: family to tune (repeatable).")] = None,
) -> None:
    """Serve the train, score and tune deployments on their schedules until interrupted (Ctrl-C)."""
    _check_cron("--train-cron", train_cron, defaults.TRAIN_CRON)
    if tune_cron != "none":
        _check_cron("--tune-cron", tune_cron, defaults.TUNE_CRON)
    if tune_trials < 1:
        raise ConfigError(f"--tune-trials must be at least 1, found {tune_trials}.")
    if tune_model:
        tune_model = families_to_tune(tune_model, RunConfig.task, "--tune-model")
    # start-up time: imported when the command runs, not when the command line starts
    from flows.deployments import serve_all
    from flows.server.lost import quiet_console

    quiet_console()
    parameters = {"sample": sample, "epochs": epochs, "output": str(output), "data_dir": str(data_dir), "models": model}
    serve_all(
        limit=limit,
        train_cron=train_cron,
        train_interval=train_interval,
        score_interval=score_interval,
        score_data=score_data,
        train_parameters=parameters,
        score_fail_on_drift=not no_score_fail_on_drift,
        tune_cron=None if tune_cron == "none" else tune_cron,
        tune_request={"trials": tune_trials, **({"families": tune_model} if tune_model else {})},
    )


def _check_cron(option: str, cron: str, example: str) -> None:
    """A ConfigError when `cron` is not a cron expression Prefect takes."""
    # start-up time: imported when the command runs, not when the command line starts
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except ValueError as exc:
        raise ConfigError(
            f"{option} {cron!r} is not a cron expression (five fields: minute hour day month weekday, for example "
            f"{example!r}). {str(exc).splitlines()[0]}"
        ) from None


def trigger(
    name: Annotated[str, typer.Argument(help="train, score, tune, or FLOW/DEPLOYMENT.")],
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Return once the run is started.")] = False,
) -> None:
    """Start a run of a served deployment; exits 0 when it completes."""
    # start-up time: imported when the command runs, not when the command line starts
    from flows.server.process import verdict
    from flows.server.selection import healthy

    found = verdict()
    if found["use"] == "temporary":
        raise ConfigError(
            "No Prefect server is configured or running, so no deployment is served to trigger. Start one with "
            "`devicepipe server start`, serve the deployments with `devicepipe serve`, then trigger again."
        )
    if not healthy(found["url"]):
        raise ConfigError(
            f"Nothing answers at {found['url']} (PREFECT_API_URL). Start that server, or point PREFECT_API_URL at "
            "the one `devicepipe serve` uses, and trigger again."
        )
    from prefect.settings import PREFECT_API_URL, temporary_settings  # start-up time, as above

    from flows.deployments import trigger as start  # start-up time, as above

    with temporary_settings(updates={PREFECT_API_URL: found["url"]}):  # the server found (`server start`'s too)
        flow_run = start(name, wait=not no_wait)
    state = flow_run.state
    typer.echo(f"flow run {flow_run.name} ({flow_run.id}): {state.name if state else 'scheduled'}")
    if not no_wait and (state is None or not state.is_completed()):
        typer.echo(f"error: the run did not complete: {state.message if state else 'no state'}", err=True)
        raise SystemExit(1)
