"""The MLflow model registry: a logged model registered as a new version of a name (`devicepipe run --register
NAME`), the alias `champion` moved to it when it beats the champion's validation metric, and a registered (or
logged) model's bundle fetched for `devicepipe predict --from models:/NAME@champion`.

Each version carries its validation metric as tags (`devicepipe.metric`, `devicepipe.valid_value`), so the
comparison reads the registry alone. A champion scored by another metric (another task) is never replaced
silently: the new version is registered, and the record says why the alias stayed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines import evaluate
from pipelines.errors import ConfigError
from pipelines.tracking.pyfunc import FAMILY, SERVED

ALIAS = "champion"
METRIC, VALUE = "devicepipe.metric", "devicepipe.valid_value"


def register(client: Any, name: str, run_id: str, model: Any, metric: str, value: float) -> dict[str, Any]:
    """A new version of `name` (made if missing) from the logged `model` (MLflow's ModelInfo) of run `run_id`,
    whose validation `metric` is `value`; returns the version, whether it is now the champion, and why."""
    from mlflow.exceptions import MlflowException  # here: with the client

    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    tags = {METRIC: metric, VALUE: repr(float(value))}
    version = client.create_model_version(name, model.model_uri, run_id=run_id, tags=tags, model_id=model.model_id)
    promoted, why = _beats(client, name, metric, float(value))
    if promoted:
        client.set_registered_model_alias(name, ALIAS, version.version)
    return {"name": name, "version": int(version.version), ALIAS: promoted, "why": why}


def _beats(client: Any, name: str, metric: str, value: float) -> tuple[bool, str]:
    """Whether a version scored `value` on `metric` takes the alias from the current champion, and why."""
    current = client.get_registered_model(name).aliases.get(ALIAS)
    if current is None:
        return True, f"the first {ALIAS} of {name}"
    tags = client.get_model_version(name, current).tags
    if tags.get(METRIC) != metric or VALUE not in tags:
        return False, (
            f"{name}@{ALIAS} (version {current}) has no valid {metric} to compare with: the alias stays; move it with "
            f"MlflowClient().set_registered_model_alias"
        )
    held = float(tags[VALUE])
    if evaluate.is_better(metric, value, held):
        return True, f"valid {metric} {value:.4f} beats {held:.4f} of version {current}"
    return False, f"valid {metric} {value:.4f} does not beat {held:.4f} of {name}@{ALIAS} (version {current})"


def fetch_bundle(model_uri: str, tracking_uri: str, folder: Path) -> tuple[Path, str]:
    """A devicepipe model at `model_uri` (models:/NAME@ALIAS, models:/NAME/VERSION, runs:/<id>/model) downloaded
    into `folder`: (its bundle's folder, the family it scores with). A ConfigError when MLflow cannot find it or
    it is no devicepipe model."""
    import mlflow  # here: the tracking extra, imported only for a model URI
    import yaml  # here: with MLflow, which requires it

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one line of output, not one per file
    mlflow.set_tracking_uri(tracking_uri)  # a models:/ URI is looked up in the registry, which follows it
    mlflow.set_registry_uri(tracking_uri)
    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(folder))
    except Exception as exc:
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ConfigError(
            f"--model {model_uri}: MLflow at {tracking_uri} has no such model ({said}). Check the name and alias, "
            "and where MLflow is: --track URI or MLFLOW_TRACKING_URI."
        ) from exc
    local = Path(local)
    spec = yaml.safe_load((local / "MLmodel").read_text()) if (local / "MLmodel").is_file() else {}
    flavor = spec.get("flavors", {}).get("python_function", {})
    family = flavor.get("config", {}).get(FAMILY)
    bundle = flavor.get("artifacts", {}).get("bundle", {}).get("path")
    if Path(str(flavor.get("model_code_path"))).name != SERVED.name or not family or not bundle:
        raise ConfigError(
            f"--model {model_uri} is not a model devicepipe logged (no bundle in its artifacts): score it with "
            "mlflow.pyfunc.load_model, or give a devicepipe run's model."
        )
    return local / bundle, family
