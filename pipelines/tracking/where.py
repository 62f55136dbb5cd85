"""Where a run is tracked: `--track URI`, `--track` alone (MLflow's own local store, `sqlite:///mlflow.db` beside the
output folder), or MLFLOW_TRACKING_URI; and whether that answers, checked before any work."""

from __future__ import annotations

import importlib.util
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError

LOCAL = "local"  # --track without a URI
DATABASE = "mlflow.db"  # the local store's file, beside the output folder


def tracking_uri(config: Any) -> str | None:
    """The MLflow tracking URI of a run with `config`, or None when tracking is off."""
    if config.track == LOCAL:
        return f"sqlite:///{Path(config.output).resolve().parent / DATABASE}"
    return config.track or os.environ.get("MLFLOW_TRACKING_URI") or None


def check_tracking(config: Any, timeout: float = 10.0) -> None:
    """Before any work: a ConfigError for --experiment without tracking, and, when --track names a server, one
    that does not answer its health check (MLFLOW_TRACKING_URI alone is not checked: a run it cannot reach says
    "not tracked" in its notes and keeps its folder)."""
    if config.track is not None and not config.track.strip():
        raise ConfigError("--track was given an empty URI: give a tracking server's (http://host:5000), or none.")
    uri = tracking_uri(config)
    if uri is None:
        if config.experiment is not None:
            raise ConfigError(
                f"--experiment {config.experiment!r} names an MLflow experiment, but tracking is off: add --track "
                "(a local store) or --track URI, or set MLFLOW_TRACKING_URI."
            )
        return
    if config.track is not None and importlib.util.find_spec("mlflow") is None:
        raise ConfigError(
            '--track asks for MLflow tracking, and MLflow is not installed here: pip install -e ".[tracking]" '
            "(or leave --track out)."
        )
    if config.track in (None, LOCAL) or not uri.startswith(("http://", "https://")):
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
        "127.0.0.1 --port 5000`) or give its address, or leave --track out to run without tracking."
    )
