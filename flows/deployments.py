"""Deployments of the flows, served by `devicepipe serve` (prefect.yaml declares the same for work pools).

train: nightly by cron (or every N seconds); score: every N seconds, scoring new data with runs/latest.
`devicepipe trigger NAME` starts a deployment's run from the command line (NAME: train or score).
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
from pipelines.errors import ConfigError

NAMES = {"train": "train/train", "score": "score/score"}


def build(
    train_cron: str | None = defaults.TRAIN_CRON,
    train_interval: int | None = None,
    score_interval: int | None = defaults.SCORE_INTERVAL,
    score_data: str = defaults.SCORE_DATA,
    train_parameters: dict[str, Any] | None = None,
    score_fail_on_drift: bool = True,
) -> list:
    """The train and score deployments with their schedules and default parameters.

    `train_parameters`: RunConfig settings for the train deployment (its `config` parameter).
    `score_fail_on_drift`: a scheduled score run whose rows drift past the alert threshold fails (its
    predictions are still written), so the schedule shows it."""
    parameters: dict[str, Any] = {"progress": False}
    if train_parameters:
        parameters["config"] = dict(train_parameters)
    schedule = {"interval": train_interval} if train_interval else {"cron": train_cron}
    output = (train_parameters or {}).get("output", "runs")
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
    ]


def serve_all(limit: int = defaults.RUN_LIMIT, **options: Any) -> None:
    """Serve both deployments in this process until interrupted, at most `limit` runs at once (one GPU)."""
    crash_detection.ensure()  # a served run whose process dies is marked Crashed, not left Running
    serve(*build(**options), limit=limit)


def trigger(name: str, parameters: dict[str, Any] | None = None, wait: bool = True) -> Any:
    """Start a run of deployment `name` ("train", "score" or "flow/deployment"); with `wait`, until it ends."""
    full = NAMES.get(name, name)
    if full.count("/") != 1 or not all(full.split("/")):
        raise ConfigError(f"Expected train, score or FLOW/DEPLOYMENT, found {name!r}.")
    try:
        return run_deployment(name=full, parameters=parameters or {}, timeout=None if wait else 0)
    except ObjectNotFound:
        raise ConfigError(
            f"The Prefect server at {get_current_settings().api.url} has no deployment {full!r}. `devicepipe serve` "
            f"serves {' and '.join(NAMES.values())}; `prefect deployment ls` lists what the server has."
        ) from None
