"""A written run directory, logged as one MLflow run through MlflowClient with an explicit run id (MLflow's active run
is per thread; this needs none). Everything comes from the folder the run committed, so what MLflow shows is what the
run wrote:

    parameters   every RunConfig setting
    metrics      each family's valid and test metrics (<family>/<split>_<metric>), the MLP's per-epoch validation
                 metrics as stepped metrics (mlp/epoch_<metric>), seconds per stage (seconds/<stage>), the residency
                 bytes (residency/<what>)
    inputs       each input file as an MLflow dataset (its path and the first 36 characters of its sha256)
    tags         the backend, its device, the git commit, the run directory, and the links given (the Prefect flow
                 run's id and URL)
    artifacts    report.html, manifest.json, metrics.json, the drift profile (drift/profile.json)
    model        the best family (or --log-model's) as a pyfunc model (pipelines.tracking.pyfunc), registered
                 with --register NAME (pipelines.tracking.registered)

A step that fails ends the logging with NotTracked naming it; the MLflow run is then marked FAILED where the server
still answers, and the run directory keeps everything it wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.files import write_text_atomic
from pipelines.runs.rundir import MANIFEST
from pipelines.tracking.model import model_steps
from pipelines.tracking.session import BATCH, batched, logging_to, text

# Files of the run directory, and their folder among the MLflow run's artifacts (None: the top). The drift profile
# is not in model/: that is the logged model's name (runs:/<id>/model).
ARTIFACTS = {"report.html": None, "manifest.json": None, "metrics.json": None, "model/profile.json": "drift"}


def log_run(run_dir: Path, uri: str, experiment: str, links: dict[str, str]) -> dict[str, Any]:
    """Log `run_dir` to the MLflow tracking server or store at `uri`, in `experiment` (made if missing); returns
    the record of where it went (uri, experiment and run ids, the run's page on a server)."""
    manifest = json.loads((run_dir / MANIFEST).read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    with logging_to(uri, experiment) as session:
        tags = _tags(run_dir, manifest, links)
        session.run_id = session.client.create_run(session.experiment_id, run_name=run_dir.name, tags=tags).info.run_id
        session.do(_steps(session.client, session.run_id, run_dir, manifest, metrics))
        record = {"uri": uri, "experiment": experiment, "experiment_id": session.experiment_id}
        record["run_id"], session.step = session.run_id, "the model"
        session.do(model_steps(session.client, uri, run_dir, manifest["config"], metrics, record))
    return {**record, "url": session.page()}


def record_tracking(run_dir: Path, record: dict[str, Any] | None, note: str | None = None) -> None:
    """The tracking record (and a note, "not tracked: ...") added to the run's manifest, rewritten in one step."""
    path = run_dir / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["tracking"] = record
    if note:
        manifest["notes"] = [*manifest.get("notes", []), note]
    write_text_atomic(path, json.dumps(manifest, indent=2) + "\n")


def _tags(run_dir: Path, manifest: dict[str, Any], links: dict[str, str]) -> dict[str, str]:
    backend = manifest.get("backend", {})
    tags = {"devicepipe.backend": backend.get("name"), "devicepipe.device": backend.get("device")}
    tags |= {"mlflow.source.git.commit": manifest.get("git_commit"), "devicepipe.run_dir": str(run_dir.resolve())}
    links = {key: value for key, value in links.items() if not str(value).startswith("/")}  # no server, no page
    return {key: str(value) for key, value in {**tags, **links}.items() if value is not None}


def _steps(client: Any, run_id: str, run_dir: Path, manifest: dict, metrics: dict) -> list[tuple[str, Any]]:
    """(what, how) for each part of the run, in the order they are logged."""
    from mlflow.entities import Metric, Param  # here: with the client above

    params = [Param(key, text(value)) for key, value in sorted(manifest.get("config", {}).items())]
    values = [Metric(key, value, 0, 0) for key, value in _values(manifest, metrics)]
    curves = [Metric(f"mlp/epoch_{key}", value, 0, step) for step, key, value in _curves(manifest)]
    return [
        ("the parameters", lambda: batched(client.log_batch, run_id, "params", params, BATCH)),
        ("the metrics", lambda: batched(client.log_batch, run_id, "metrics", values, 10 * BATCH)),
        ("the learning curves", lambda: batched(client.log_batch, run_id, "metrics", curves, 10 * BATCH)),
        ("the input datasets", lambda: client.log_inputs(run_id, datasets=_datasets(manifest))),
        *[
            (f"the artifact {name}", lambda name=name, to=to: client.log_artifact(run_id, str(run_dir / name), to))
            for name, to in ARTIFACTS.items()
            if (run_dir / name).exists()
        ],
    ]


def _values(manifest: dict[str, Any], metrics: dict[str, Any]) -> list[tuple[str, float]]:
    found = []
    for family, entry in metrics.get("models", {}).items():
        for split in ("valid", "test"):
            found += [(f"{family}/{split}_{name}", value) for name, value in entry.get(split, {}).items()]
        if "fit_seconds" in entry:
            found.append((f"{family}/fit_seconds", entry["fit_seconds"]))
    baseline = metrics.get("trivial_baseline", {})  # the constant prediction from training: what every model must beat
    found += [
        (f"trivial_baseline/{split}_{name}", value)
        for split in ("valid", "test")
        for name, value in baseline.get(split, {}).items()
    ]
    for family, cut in metrics.get("thresholds", {}).items():
        found.append((f"{family}/threshold", cut["value"]))
    found += [(f"seconds/{stage}", value) for stage, value in manifest.get("seconds", {}).items()]
    residency = manifest.get("residency", {})
    found += [(f"residency/{key}", value) for key, value in residency.items() if "bytes" in key]
    return [(key, float(value)) for key, value in found if isinstance(value, int | float)]


def _curves(manifest: dict[str, Any]) -> list[tuple[int, str, float]]:
    history = manifest.get("training", {}).get("mlp", {}).get("history", [])
    return [
        (int(epoch["epoch"]), key, float(value))
        for epoch in history
        for key, value in epoch.items()
        if key != "epoch" and isinstance(value, int | float)
    ]


def _datasets(manifest: dict[str, Any]) -> list[Any]:
    from mlflow.entities import Dataset, DatasetInput, InputTag  # here: with the client above

    context = InputTag(key="mlflow.data.context", value="training")
    return [
        DatasetInput(
            dataset=Dataset(
                name=Path(path).stem,
                digest=digest[:36],
                source_type="local",
                source=json.dumps({"uri": path}),
            ),
            tags=[context],
        )
        for path, digest in sorted(manifest.get("inputs", {}).items())
    ]
