"""One MLflow run being logged, whatever made it (a train run, a scoring, a tune's study): the client, the
experiment (made if missing), the step under way, and how a failure ends (NotTracked, naming the step; the MLflow
run marked FAILED where the server still answers). A local SQLite store is taken by one process at a time.

    with logging_to(uri, experiment) as session:
        session.run_id = session.client.create_run(session.experiment_id, ...).info.run_id
        session.do([("the metrics", lambda: ...), ...])
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BATCH = 100  # MlflowClient.log_batch takes at most 100 parameters, 1,000 metrics a call


class NotTracked(Exception):
    """Logging to MLflow stopped at `step`; what was being tracked is complete all the same."""

    def __init__(self, step: str, uri: str, cause: BaseException, run_id: str | None):
        self.step, self.run_id = step, run_id
        where = f"; MLflow run {run_id} is incomplete" if run_id else ""
        super().__init__(f"not tracked: {step} could not be logged to {uri} ({type(cause).__name__}: {cause}){where}")


@dataclass(kw_only=True)
class Session:
    """The client, the experiment's id, the run being logged (once created) and the step under way."""

    uri: str
    client: Any
    experiment_id: str
    run_id: str | None = None
    step: str = "the run"

    def do(self, steps: list[tuple[str, Callable[[], Any]]]) -> None:
        """Each (what, how) in order, `what` named if it fails."""
        for what, how in steps:
            self.step = what
            how()

    def page(self, run_id: str | None = None) -> str | None:
        """The run's page in the server's UI (None for a local store)."""
        run_id = run_id or self.run_id
        if not self.uri.startswith("http"):
            return None
        return f"{self.uri.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{run_id}"


@contextlib.contextmanager
def logging_to(uri: str, experiment: str) -> Iterator[Session]:
    """A Session on `uri`'s `experiment`; the run it created is FINISHED when the block ends, or FAILED and a
    NotTracked raised when a step fails."""
    # Bounded waits for a server that went away (MLflow retries each request up to 7 times otherwise), and the
    # log without a progress bar per file; the user's own settings win.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # the flow says where the run went
    try:
        from mlflow import MlflowClient  # here: the tracking extra, imported only when something is tracked
    except ImportError as exc:
        raise NotTracked('anything (MLflow is not installed: pip install -e ".[tracking]")', uri, exc, None) from exc
    session = Session(uri=uri, client=None, experiment_id="", step="the experiment")
    try:
        with _one_at_a_time(uri), _quiet("mlflow"):
            session.client = MlflowClient(tracking_uri=uri)
            session.experiment_id = _experiment(session.client, experiment, uri)
            session.step = "the run"
            yield session
            session.step = "the run's end"
            if session.run_id is not None:
                session.client.set_terminated(session.run_id, "FINISHED")
    except Exception as exc:
        if session.run_id is not None:
            with contextlib.suppress(Exception):  # the server that failed the logging may be gone
                session.client.set_terminated(session.run_id, "FAILED")
        raise NotTracked(session.step, uri, exc, session.run_id) from exc


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Logger `name` at WARNING for the block: MLflow's INFO lines (validating the input example, waiting for a
    model version) are its own steps, not the run's news."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def local_database(uri: str) -> Path | None:
    """The file of a local SQLite store (`--track` alone), or None for a server."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def batched(log: Any, run_id: str, kind: str, items: list[Any], size: int) -> None:
    """`log(run_id, kind=items)` in slices of `size` (MlflowClient.log_batch's limits)."""
    for start in range(0, len(items), size):
        log(run_id, **{kind: items[start : start + size]})


def text(value: Any) -> str:
    """A parameter's value as MLflow keeps it: text, or JSON for anything else."""
    return value if isinstance(value, str) else json.dumps(value)


@contextlib.contextmanager
def _one_at_a_time(uri: str) -> Iterator[None]:
    """A local SQLite store taken by one process at a time (a lock file beside it): two runs creating or writing
    it at once would race MLflow's table creation, or find the database locked. A server orders its own writes."""
    database = local_database(uri)
    if database is None:
        yield
        return
    with open(database.with_name(f".{database.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _experiment(client: Any, name: str, uri: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    database = local_database(uri)  # a local store: its artifacts beside its database, not in the working folder
    location = None if database is None else (database.parent / "mlartifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)
