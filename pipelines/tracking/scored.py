"""A scoring (the score flow's) as one MLflow run, in the experiment of the run whose model scored:

parameters   the model (run directory and family), the data, the predictions file, the drift thresholds
metrics      rows_scored, psi/<column> for each profiled column, psi/prediction_<family>, drift_moved and
             drift_alerts (how many columns and predictions moved, how many past the alert threshold)
tags         devicepipe.kind = score, the training run's MLflow run id (devicepipe.trained_in) when it was
             tracked, the links given (the Prefect flow run's id and URL)
artifacts    the drift report (<predictions>.drift.json)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pipelines.tracking.session import BATCH, batched, logging_to, text

NOT_IN_KEYS = re.compile(r"[^\w\-. /]")  # MLflow's metric names: letters, digits, _ - . space and /


def log_scoring(
    uri: str, experiment: str, details: dict[str, Any], report: dict[str, Any] | None, links: dict[str, str]
) -> dict[str, Any]:
    """Log a scoring described by `details` (model, family, data, out, rows, drift thresholds, drift_report: the
    report's file, trained_in: the training run's MLflow run id or None) and its drift `report` (None: not
    checked); returns where it went."""
    from mlflow.entities import Metric, Param  # here: the tracking extra, imported only when tracked

    params = [Param(key, text(value)) for key, value in sorted(details.items()) if key not in ("trained_in", "rows")]
    values = [Metric(key, float(value), 0, 0) for key, value in _values(details["rows"], report)]
    tags = {"devicepipe.kind": "score", "devicepipe.trained_in": details.get("trained_in"), **links}
    tags = {key: str(value) for key, value in tags.items() if value is not None and not str(value).startswith("/")}
    with logging_to(uri, experiment) as session:
        client, name = session.client, f"score {Path(details['out']).stem}"
        session.run_id = client.create_run(session.experiment_id, run_name=name, tags=tags).info.run_id
        steps = [
            ("the parameters", lambda: batched(client.log_batch, session.run_id, "params", params, BATCH)),
            ("the metrics", lambda: batched(client.log_batch, session.run_id, "metrics", values, 10 * BATCH)),
        ]
        if details.get("drift_report"):
            steps.append(("the drift report", lambda: client.log_artifact(session.run_id, details["drift_report"])))
        session.do(steps)
    return {"uri": uri, "experiment": experiment, "run_id": session.run_id, "url": session.page()}


def _values(rows: int, report: dict[str, Any] | None) -> list[tuple[str, float]]:
    found = [("rows_scored", rows)]
    if report is None:
        return found
    found += [(f"psi/{_key(column)}", entry["psi"]) for column, entry in report["columns"].items()]
    found += [(f"psi/prediction_{_key(name)}", entry["psi"]) for name, entry in report["predictions"].items()]
    return [*found, ("drift_moved", len(report["moved"])), ("drift_alerts", len(report["alerts"]))]


def _key(name: str) -> str:
    """A column's name as part of a metric's name (characters MLflow refuses there as _)."""
    return NOT_IN_KEYS.sub("_", str(name))
