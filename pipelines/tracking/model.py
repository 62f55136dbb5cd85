"""The run's model in MLflow: which family is logged (--log-model, or the best on validation), the steps that log it
as a pyfunc model (pipelines.tracking.pyfunc) and register it (--register NAME: pipelines.tracking.registered), and
what a tracking record says of it, for a person."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pipelines import evaluate


def tracked_model(record: dict[str, Any]) -> list[str]:
    """What a tracking record says of the run's model, in lines for a person: its URI, its registered version."""
    lines = []
    if model := record.get("model"):
        lines.append(f"MLflow model: {model['uri']} ({model['family']})")
    if version := record.get("registered"):
        name, number = version["name"], version["version"]
        alias = f"now {name}@champion" if version["champion"] else "not champion"
        lines.append(f"registered: {name} version {number}, {alias}: {version['why']}")
    return lines


def model_steps(
    client: Any, uri: str, run_dir: Path, config: dict[str, Any], metrics: dict[str, Any], record: dict[str, Any]
) -> list[tuple[str, Any]]:
    """(what, how) for the model: the family logged as a pyfunc model (pipelines.tracking.pyfunc), then, with
    --register, its registration; each adds what it made to `record`."""
    import mlflow  # here: the tracking extra, imported only when a run is tracked

    from pipelines.tracking import pyfunc, registered  # here: they import MLflow at their top

    family = config.get("log_model") or metrics["best_model"]
    if family not in metrics["models"]:
        raise LookupError(f"--log-model {family}: not fitted by this run, which has {', '.join(metrics['models'])}")
    metric, logged = evaluate.PRIMARY[metrics["task"]], {}

    def log_model() -> None:
        mlflow.set_tracking_uri(uri)  # log_model reads it; the run is named by its id
        with tempfile.TemporaryDirectory() as scratch:
            info = pyfunc.log_model(record["run_id"], run_dir, family, Path(scratch))
        record["model"] = {"family": family, "uri": f"runs:/{record['run_id']}/{pyfunc.NAME}", "id": info.model_id}
        logged["info"] = info

    def register() -> None:
        value = metrics["models"][family]["valid"][metric]
        record["registered"] = registered.register(
            client, config["register"], record["run_id"], logged["info"], metric, value
        )

    steps = [(f"the model ({family})", log_model)]
    return steps + ([(f"the registration as {config['register']!r}", register)] if config.get("register") else [])
