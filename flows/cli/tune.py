"""`devicepipe tune`: search each family's settings with Optuna on features computed once (the tune flow,
flows/tune.py), into <output>/tune-<study>/; then `devicepipe run --params <that folder>` trains with the best."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from flows.cli import options
from flows.cli.choices import BackendChoice, Task
from flows.server.selection import early_server
from pipelines.errors import ConfigError

Families = Annotated[
    list[str] | None, typer.Option(help="Family to tune (repeatable): xgboost, mlp, logistic_regression, ...")
]
Study = Annotated[
    str | None, typer.Option(help="The study's name (default: the dataset's); the same name continues it.")
]
Jobs = Annotated[
    int | None,
    typer.Option(help="Trials at a time, each in its own process (default: 1; with --cluster, one per worker)."),
]


def tune(
    model: Families = None,
    trials: Annotated[int, typer.Option(help="Trials per family, counting those the study ran before.")] = 20,
    timeout: Annotated[float | None, typer.Option(help="Most seconds of search per family.")] = None,
    study: Study = None,
    jobs: Jobs = None,
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
    backend: options.Backend = BackendChoice.auto,
    cluster: options.Cluster = "none",
    n_workers: options.Workers = None,
    partition_size: options.PartitionSize = "256MiB",
    output: options.Output = "runs",
    no_cache: options.NoCache = False,
    track: options.Track = None,
    experiment: options.Experiment = None,
    no_progress: options.NoProgress = False,
) -> None:
    """Tune model families' settings on the validation split (Optuna); write runs/tune-<study>/."""
    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.config import RunConfig, describe_data

    settings = {**locals(), "task": task.value, "backend": backend.value, "models": None, "cache": not no_cache}
    progress = not no_progress
    config = RunConfig.from_dict({name: settings[name] for name in RunConfig.__dataclass_fields__ if name in settings})
    config.check()
    families = families_to_tune(model or ["xgboost"], config.task)
    name = study or config.dataset
    _check_search(trials, timeout, name)
    _check_jobs(jobs, config.cluster)
    server = early_server()
    # start-up time: imported when the command runs, not when the command line starts
    from flows.cli.run import tune_on
    from pipelines.stages import check_run
    from pipelines.tracking import check_tracking
    from pipelines.tracking.tuned import tracked_tune
    from pipelines.tuning import TuneRequest, check_folder, tune_folder

    check_run(config)
    check_tracking(config)  # an MLflow server asked for that does not answer: exit 2 before any work
    check_folder(tune_folder(config.output, name), name, describe_data(config))
    request = TuneRequest(families=families, trials=trials, timeout=timeout, study=name, jobs=jobs)
    folder = tune_on(server, config, request, progress)
    typer.echo(f"tune folder: {folder}\ntrain with the best settings: devicepipe run --params {folder}")
    if tracked := tracked_tune(Path(folder)):
        typer.echo(tracked)


def _check_search(trials: int, timeout: float | None, study: str) -> None:
    if trials < 1:
        raise ConfigError(f"--trials must be at least 1, found {trials}.")
    if timeout is not None and not timeout > 0:
        raise ConfigError(f"--timeout is a number of seconds above 0, found {timeout}.")
    if not study.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ConfigError(f"--study names a folder (tune-<study>): letters, digits, '-', '_' and '.', found {study!r}.")


def families_to_tune(names: list[str], task: str, option: str = "--model") -> list[str]:
    """The families to tune, in the order given: each known, of this task, and with settings to tune."""
    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.models import FAMILIES

    tunable = [name for name, family in FAMILIES.items() if task in family.tasks and family.defaults(task)]
    unknown = [name for name in names if name not in tunable]
    if unknown:
        raise ConfigError(
            f"{option} {unknown[0]!r} cannot be tuned for {task}: the families that can are {', '.join(tunable)}."
        )
    return list(dict.fromkeys(names))


def _check_jobs(jobs: int | None, cluster: str) -> None:
    """--jobs: at least 1, and on this machine at most its cores (a cluster's workers are counted once it is open)."""
    if jobs is None:
        return
    if jobs < 1:
        raise ConfigError(f"--jobs is a number of trials at a time, at least 1; found {jobs}.")
    cores = os.cpu_count() or 1
    if cluster == "none" and jobs > cores:
        raise ConfigError(
            f"--jobs {jobs} asks for more trials at a time than this machine's {cores} cores: each trial takes at "
            f"least one. Use --jobs {cores} or fewer, or a Dask cluster with more workers (--cluster ADDRESS)."
        )
