"""`devicepipe predict`: a run's bundle scores new rows, with their drift (registered on the app by
flows/cli/app.py)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.choices import BackendChoice
from pipelines.errors import ConfigError

MODEL_URIS = ("models:/", "runs:/")  # --model given as an MLflow model's URI
THRESHOLD_HELP = (
    "Probability from which a row is the positive class, or 'chosen': the run's best-F1 cut on validation. "
    "Default: 0.5."
)


def predict(
    data: Annotated[str, typer.Option(help="New rows: a Parquet or CSV file, folder or glob.")],
    out: Annotated[Path, typer.Option(help="Where to write the predictions: a .parquet or .csv file.")],
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="The run to predict with (required): its folder (runs/latest) or MLflow's models:/NAME@champion.",
        ),
    ] = None,
    model_name: Annotated[str | None, typer.Option(help="Which model of the run. Default: its best.")] = None,
    keep: Annotated[list[str] | None, typer.Option(help="Input column to copy beside the predictions.")] = None,
    threshold: Annotated[str | None, typer.Option(help=THRESHOLD_HELP)] = None,
    backend: Annotated[BackendChoice, typer.Option(help="auto takes the GPU when one is usable.")] = BackendChoice.auto,
    drift_warn: Annotated[float, typer.Option(help="PSI from which a column or the predictions moved.")] = 0.1,
    drift_alert: Annotated[float, typer.Option(help="PSI from which a move is an alert.")] = 0.25,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="An alert exits 3 (the predictions are still written).")
    ] = False,
    track: Annotated[
        str | None,
        typer.Option(help="Where MLflow keeps a models:/ --from: a tracking URI (default: ./mlflow.db)."),
    ] = None,
    model: Annotated[str | None, typer.Option(hidden=True, help="Deprecated: the name --from had before.")] = None,
) -> None:
    """Batch predictions with a run's inference bundle (its files are checked against the manifest first), and
    their drift against the training rows, written beside them as <out>.drift.json."""
    # start-up time: imported when the command runs, not when the command line starts
    from pipelines.backend import select as select_backend
    from pipelines.scoring import drift
    from pipelines.scoring import predict as predicting
    from pipelines.scoring import threshold as thresholds

    drift.check_thresholds(drift_warn, drift_alert)
    source = _source(source, model)
    chosen = select_backend(backend.value)
    with _bundle_of(source, track) as (folder, family):
        bundle = predicting.open_bundle(folder)
        name = model_name or family or bundle.metrics["best_model"]
        cut = thresholds.resolve(threshold, bundle.metrics, name)
        out = predicting.check_out(out, data, bundle)
        rows = predicting.read_rows(bundle, data, chosen)
        scores = predicting.score_rows(bundle, rows, chosen, name)
        report = predicting.drift_report(bundle, rows, scores, name, drift_warn, drift_alert)
        path = predicting.write_predictions(out, scores, bundle, chosen, rows, list(keep or []), thresholds.at(cut))
    run = bundle.manifest.get("run", bundle.run_dir.name)
    typer.echo(f"{len(rows)} predictions from {name} ({run}, {chosen.name} backend): {path}")
    for line in thresholds.said(cut, bundle.metrics, name, bundle.manifest["target"]["classes"]):
        typer.echo(line)
    if report is None:
        typer.echo("drift: not checked (the run was saved without a training profile)")
        return
    typer.echo(drift.summary(report, details=str(predicting.write_drift(path, report))))
    if fail_on_drift and report["alerts"]:
        raise drift.DriftAlert(f"drift alert (PSI >= {drift_alert}): {', '.join(report['alerts'])}")


def _source(source: str | None, model: str | None) -> str:
    """--from, or the deprecated --model (said so on stderr); exit 2 for neither or both."""
    if source is not None and model is not None:
        raise ConfigError(
            f"predict takes --from or its old name --model, not both: found --from {source} and "
            f"--model {model}. Keep --from."
        )
    if source is None and model is None:
        raise ConfigError(
            "predict needs --from RUN: a completed run directory (runs/latest) or an MLflow model "
            "(models:/NAME@champion). See devicepipe predict --help."
        )
    if model is not None:
        typer.echo(
            f"note: predict --model is now --from (--model names a model family in devicepipe run): "
            f"devicepipe predict --from {model} ...",
            err=True,
        )
    return source or model


@contextmanager
def _bundle_of(model: str, track: str | None) -> Iterator[tuple[Path, str | None]]:
    """The bundle's folder and the family to score with (None: the run's best): a run directory as it is; an
    MLflow model's URI downloaded for the command's length, from --track, MLFLOW_TRACKING_URI or ./mlflow.db."""
    if not model.startswith(MODEL_URIS):
        yield Path(model), None
        return
    # here: MLflow (the tracking extra) only for a model's URI
    from pipelines.tracking import model_store
    from pipelines.tracking.registered import fetch_bundle

    uri = model_store(track)
    # Not a TemporaryDirectory: Ctrl-C while MLflow's threads download leaves them writing into the folder as it is
    # removed. It is removed without fuss now, and again at exit, once those threads have ended.
    folder = tempfile.mkdtemp(prefix="devicepipe-model-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    try:
        yield fetch_bundle(model, uri, Path(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
