"""Deployments of the flows, served by `devicepipe serve` (prefect.yaml declares the same for work pools).

train: nightly by cron (or every N seconds), with the settings the latest tune found (runs/tune-latest; the
defaults until a tune has finished); score: every N seconds, scoring new data with runs/latest; tune: weekly,
searching the families' settings on the data the train deployment trains on (a study per data: weekly-<fingerprint>).
`devicepipe trigger NAME` starts a deployment's run from the command line (NAME: train, score or tune).
"""

from __future__ import annotations

from typing import Any

from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings

from flows import defaults
from flows.score import score
from flows.server import crash_detection
from flows.server.runner import serve
from flows.train import train
from flows.tune import tune
from pipelines.errors import ConfigError
from pipelines.models.tuned import TUNE_LATEST

NAMES = {"train": "train/train", "score": "score/score", "tune": "tune/tune"}


def build(
    train_cron: str | None = defaults.TRAIN_CRON,
    train_interval: int | None = None,
    score_interval: int | None = defaults.SCORE_INTERVAL,
    score_data: str = defaults.SCORE_DATA,
    train_parameters: dict[str, Any] | None = None,
    score_fail_on_drift: bool = True,
    tune_cron: str | None = defaults.TUNE_CRON,
    tune_request: dict[str, Any] | None = None,
) -> list:
    """The train, score and tune deployments with their schedules and default parameters.

    `train_parameters`: RunConfig settings for the train deployment (its `config` parameter), the tune deployment's
    too. `score_fail_on_drift`: a scheduled score run whose rows drift past the alert threshold fails (its
    predictions are still written), so the schedule shows it. `tune_cron` None: no tune deployment, and the train
    deployment keeps the families' default settings. `tune_request`: TuneRequest settings over the defaults."""
    config = dict(train_parameters or {})
    output = config.get("output", "runs")
    if tune_cron:
        config["params"] = f"{output}/{TUNE_LATEST}"
    parameters: dict[str, Any] = {"progress": False, **({"config": config} if config else {})}
    schedule = {"interval": train_interval} if train_interval else {"cron": train_cron}
    # score_interval 0 or None: the score deployment is served without a schedule (trigger it by name).
    score_schedule = {"interval": score_interval} if score_interval else {}
    return [
        train.to_deployment(name="train", parameters=parameters, tags=["gpu"], **schedule),
        score.to_deployment(
            name="score",
            parameters={"data": score_data, "model": f"{output}/latest", "fail_on_drift": score_fail_on_drift},
            tags=["gpu"],
            **score_schedule,
        ),
    ] + ([_tune_deployment(train_parameters or {}, tune_cron, tune_request or {})] if tune_cron else [])


def _tune_deployment(config: dict[str, Any], cron: str, request: dict[str, Any]) -> Any:
    """The tune deployment: the train deployment's data settings, a study per data, weekly by default."""
    asked = {"families": list(defaults.TUNE_MODELS), "trials": defaults.TUNE_TRIALS, "study": defaults.TUNE_STUDY}
    parameters = {"request": {**asked, "per_data": True, **request}, "progress": False}
    data = {key: value for key, value in config.items() if key != "models"}  # the families: the request's
    return tune.to_deployment(name="tune", parameters={"config": data, **parameters}, tags=["gpu"], cron=cron)


def serve_all(limit: int = defaults.RUN_LIMIT, **options: Any) -> None:
    """Serve the deployments in this process until interrupted, at most `limit` runs at once (one GPU)."""
    crash_detection.ensure()  # a served run whose process dies is marked Crashed, not left Running
    serve(*build(**options), limit=limit)


def trigger(name: str, parameters: dict[str, Any] | None = None, wait: bool = True) -> Any:
    """Start a run of deployment `name` ("train", "score" or "flow/deployment"); with `wait`, until it ends."""
    full = NAMES.get(name, name)
    if full.count("/") != 1 or not all(full.split("/")):
        raise ConfigError(f"Expected train, score, tune or FLOW/DEPLOYMENT, found {name!r}.")
    try:
        return run_deployment(name=full, parameters=parameters or {}, timeout=None if wait else 0)
    except ObjectNotFound:
        raise ConfigError(
            f"The Prefect server at {get_current_settings().api.url} has no deployment {full!r}. `devicepipe serve` "
            f"serves {' and '.join(NAMES.values())}; `prefect deployment ls` lists what the server has."
        ) from None
