"""Where a run is tracked: `--track URI`, `--track` alone (MLflow's own local store, `sqlite:///mlflow.db` beside the
output folder), or MLFLOW_TRACKING_URI; and whether that answers, checked before any work."""

from __future__ import annotations

import importlib.util
import os
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pipelines.errors import ConfigError
from pipelines.tracking.session import local_database

LOCAL = "local"  # --track without a URI
DATABASE = "mlflow.db"  # the local store's file, beside the output folder


def tracking_uri(config: Any) -> str | None:
    """The MLflow tracking URI of a run with `config`, or None when tracking is off."""
    if config.track == LOCAL:
        return f"sqlite:///{Path(config.output).resolve().parent / DATABASE}"
    return config.track or os.environ.get("MLFLOW_TRACKING_URI") or None


def _tracking_options(config: Any) -> list[tuple[str, str | None]]:
    return [("--experiment", config.experiment), ("--log-model", config.log_model), ("--register", config.register)]


def _check_model(config: Any) -> None:
    """--log-model naming a family this run fits, --register a name MLflow takes."""
    # here: the families' registry, for a tracked run only
    from pipelines.models import registry

    family = config.log_model
    if family is not None and family not in registry.names(config.task):
        known = ", ".join(registry.names(config.task))
        raise ConfigError(f"--log-model {family!r} is no model family of {config.task}: expected one of {known}.")
    baselines = registry.names(config.task, "baselines")
    if family in baselines and config.models is not None and family not in config.models:
        raise ConfigError(
            f"--log-model {family} is not fitted by this run, whose --model options ask for "
            f"{', '.join(config.models)}: add --model {family}, or log another family."
        )
    name = config.register
    if name is not None and (not name.strip() or any(mark in name for mark in "/:")):
        found = "an empty name" if not name.strip() else f"{name!r}, and MLflow's model names hold no '/' or ':'"
        raise ConfigError(f"--register was given {found}: give the registered model's name (flights-delay).")


def check_tracking(config: Any, timeout: float = 10.0) -> None:
    """Before any work: a ConfigError for --experiment without tracking, and, when --track names a server, one
    that does not answer its health check (MLFLOW_TRACKING_URI alone is not checked: a run it cannot reach says
    "not tracked" in its notes and keeps its folder)."""
    uri = tracking_uri(config) if _given(config.track) else None
    if uri is None:
        given = [(option, value) for option, value in _tracking_options(config) if value is not None]
        if given:
            option, value = given[0]
            raise ConfigError(
                f"{option} {value!r} is for MLflow, but tracking is off: add --track (a local store) or --track URI, "
                "or set MLFLOW_TRACKING_URI."
            )
        return
    _check_model(config)
    if config.track is not None:
        _check_installed("--track asks for MLflow tracking")
    if config.track not in (None, LOCAL):
        _check_answers(uri, timeout)


def model_store(track: str | None, timeout: float = 10.0) -> str:
    """Where a model's URI (models:/NAME@champion) is looked up: --track (alone: ./mlflow.db), else
    MLFLOW_TRACKING_URI, else ./mlflow.db; a ConfigError when that store is not there or does not answer."""
    _given(track)
    _check_installed("--model names an MLflow model")
    uri = tracking_uri(SimpleNamespace(track=track or os.environ.get("MLFLOW_TRACKING_URI") or LOCAL, output="runs"))
    database = local_database(uri)
    if database is not None and not database.is_file():
        raise ConfigError(
            f"No MLflow store at {database}: say where the model is kept with --track URI (a "
            "tracking server) or MLFLOW_TRACKING_URI, or run where `devicepipe run --track` made mlflow.db."
        )
    _check_answers(uri, timeout)
    return uri


def _given(track: str | None) -> bool:
    if track is not None and not track.strip():
        raise ConfigError("--track was given an empty URI: give a tracking server's (http://host:5000), or none.")
    return True


def _check_installed(why: str) -> None:
    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError(f'{why}, and MLflow is not installed here: pip install -e ".[tracking]".')


def _check_answers(uri: str, timeout: float) -> None:
    """A tracking server that answers its health check (a URI of another kind is not checked)."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout) as response:
            if response.status == 200:
                return
            found = f"HTTP {response.status}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        found = str(getattr(exc, "reason", exc))
    raise ConfigError(
        f"--track {uri}: no MLflow tracking server answers there ({found}). Start one (`mlflow server --host "
        "127.0.0.1 --port 5000`) or give its address, or leave --track out."
    )
