"""The `score` flow: batch predictions for new data with a saved model (a run's inference bundle).

devicepipe predict --from runs/latest --data new.parquet --out preds.parquet   (the same stages, no Prefect)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.tasks import IO_RETRIES, track_in_mlflow
from pipelines import backend as backends
from pipelines.backend import Backend
from pipelines.scoring import drift, predict
from pipelines.scoring import threshold as thresholds
from pipelines.tracking import tracking_uri
from pipelines.tracking.scored import log_scoring


@task(name="open-bundle", cache_policy=NO_CACHE, tags=["io"], timeout_seconds=600)
def open_bundle(model: str) -> predict.Bundle:
    """Verify the bundle's files against the run manifest and load the feature workflow."""
    return predict.open_bundle(model)


@task(name="load", cache_policy=NO_CACHE, tags=["io"], timeout_seconds=3600, **IO_RETRIES)
def load(bundle: predict.Bundle, data: str, backend: Backend) -> Any:
    """Read the new rows into the backend's frame, shaped like the training rows."""
    return predict.read_rows(bundle, data, backend)


@task(name="predict", cache_policy=NO_CACHE, tags=["gpu"], timeout_seconds=3600)
def score_rows(bundle: predict.Bundle, rows: Any, backend: Backend, model_name: str | None) -> Any:
    """Features, then the chosen model's predictions on the device."""
    return predict.score_rows(bundle, rows, backend, model_name)


@task(name="drift", cache_policy=NO_CACHE, timeout_seconds=1800)
def check_drift(
    bundle: predict.Bundle, rows: Any, scores: Any, model_name: str | None, warn: float, alert: float
) -> dict[str, Any] | None:
    """PSI of the new rows and the predictions against the bundle's training profile."""
    return predict.drift_report(bundle, rows, scores, model_name, warn, alert)


@task(name="write-predictions", cache_policy=NO_CACHE, tags=["io"], timeout_seconds=600)
def write(
    out: str, scores: Any, bundle: predict.Bundle, backend: Backend, rows: Any, keep: list[str], cut: float
) -> str:
    """Write the predictions (Parquet, or CSV for an `out` ending in .csv), atomically."""
    return str(predict.write_predictions(out, scores, bundle, backend, rows, keep, cut))


@flow(name="score")
def score(
    data: str,
    model: str = "runs/latest",
    out: str | None = None,
    model_name: str | None = None,
    keep: list[str] | None = None,
    backend: str = "auto",
    drift_warn: float = drift.WARN,
    drift_alert: float = drift.ALERT,
    fail_on_drift: bool = False,
    track: str | None = None,
    threshold: float | str | None = None,
) -> str:
    """Score `data` with the bundle in `model` (a run directory); returns the predictions file. The drift of the
    rows and predictions is written beside it; with `fail_on_drift`, an alert fails the flow run (DriftAlert)
    after the predictions are written, so a schedule can alert on it. With `track` (a tracking URI, or "local":
    mlflow.db beside the runs folder) or MLFLOW_TRACKING_URI set, the scoring is an MLflow run too. `threshold`:
    the probability from which a row is the positive class (default 0.5), or "chosen", the run's cut on its
    validation split (pipelines.scoring.threshold)."""
    drift.check_thresholds(drift_warn, drift_alert)
    out = out or str(Path("predictions") / f"score-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.parquet")
    chosen = backends.select(backend)
    bundle = open_bundle(model)
    name = model_name or bundle.metrics["best_model"]
    cut = thresholds.resolve(threshold, bundle.metrics, name)
    predict.check_out(out, data, bundle)
    rows = load(bundle, data, chosen)
    scores = score_rows(bundle, rows, chosen, model_name)
    report = check_drift(bundle, rows, scores, model_name, drift_warn, drift_alert)
    path = write(out, scores, bundle, chosen, rows, list(keep or []), thresholds.at(cut))
    logger = get_run_logger()
    logger.info("scored %d rows with %s from %s: %s", len(rows), name, bundle.run_dir, path)
    said = thresholds.said(cut, bundle.metrics, name, bundle.manifest["target"]["classes"])
    for line in said:
        logger.info(line)
    moved, written = "Drift: not checked (the run was saved without a training profile).", None
    if report is not None:
        written = predict.write_drift(path, report)
        level = logging.WARNING if report["moved"] or report.get("notes") else logging.INFO
        logger.log(level, drift.summary(report, details=str(written)))
        moved = f"{drift.summary(report, details=f'`{written}`')}\n\n{drift.markdown(report)}"
    details = {"model": str(bundle.run_dir), "family": name, "data": data, "out": str(Path(path).resolve())}
    details |= {"rows": len(rows), "drift_warn": drift_warn, "drift_alert": drift_alert, "drift_report": written}
    details |= {"threshold": cut.value} if cut else {}
    track_scoring(track, bundle, details, report, logger)
    cuts = "".join(f"{line}\n\n" for line in said)
    create_markdown_artifact(
        key="score-summary",
        markdown=f"Scored **{len(rows)}** rows of `{data}` with **{name}** from `{bundle.run_dir}`.\n\n"
        f"Predictions: `{Path(path).resolve()}`\n\n{cuts}{moved}",
        description="score flow: predictions written, and their drift",
    )
    if fail_on_drift and report is not None and report["alerts"]:
        raise drift.DriftAlert(f"drift alert (PSI >= {drift_alert}): {', '.join(report['alerts'])}")
    return path


def track_scoring(
    track: str | None, bundle: predict.Bundle, details: dict[str, Any], report: dict[str, Any] | None, logger: Any
) -> None:
    """The scoring logged to MLflow when tracking is on (pipelines.tracking.scored), in the experiment its model's
    run was tracked in; a failure is a warning ("not tracked: ..."): the predictions stand as written."""
    uri = tracking_uri(SimpleNamespace(track=track, output=str(bundle.run_dir.parent)))
    if uri is None:
        return
    trained = bundle.manifest.get("tracking") or {}  # the training run's record, where it was tracked
    experiment = trained.get("experiment") or bundle.config.experiment or bundle.config.dataset
    details = {
        **details,
        "trained_in": trained.get("run_id"),
        "drift_report": details["drift_report"] and str(details["drift_report"]),
    }
    track_in_mlflow(lambda links: log_scoring(uri, experiment, details, report, links), uri, logger, "mlflow-score")


if __name__ == "__main__":
    import os
    import sys

    # The same as `devicepipe predict`: the command line sits above the flows, so it is started, not imported.
    os.execv(sys.executable, [sys.executable, "-m", "flows.cli", "predict", *sys.argv[1:]])
