"""The pipeline's stages as Prefect tasks, and the one retry policy: only I/O is retried, never bad input.

Tasks pass frames and tensors in memory within a run; nothing goes through Prefect's result storage
(NO_CACHE: task inputs are never hashed or persisted). A flow runs its stages through a `StageChain`: in Prefect's
graph they are the chain they are, each task run named after its stage and tagged with the backend that ran it
("cpu" or "gpu", for concurrency limits; "io" too for a stage that reads or writes files).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows import fixed_cost
from pipelines import backend as backends
from pipelines.backend import Backend
from pipelines.config import RunConfig
from pipelines.errors import DevicepipeError
from pipelines.stages import CACHE_LOOKUP, CACHE_STORE, STAGES, Stage
from pipelines.tracking import NotTracked


def retry_io_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry transient I/O failures; bad input (a DevicepipeError, an OSError or not) fails at once."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, OSError) and not isinstance(error, DevicepipeError)


IO_RETRIES = {"retries": 3, "retry_delay_seconds": [2, 5, 15], "retry_condition_fn": retry_io_only}


def as_task(stage: Stage) -> Any:
    """A Prefect task running `stage.run`: named after the stage, retried on I/O errors if it does I/O."""
    options = {**IO_RETRIES, "tags": ["io"]} if stage.io else {}
    run = fixed_cost.timed(stage.name, stage.run)
    return task(
        run,
        name=stage.name,
        task_run_name=stage.name,
        cache_policy=NO_CACHE,
        timeout_seconds=stage.timeout_seconds,
        **options,
    )


TASKS = {stage.name: as_task(stage) for stage in (CACHE_LOOKUP, *STAGES, CACHE_STORE)}


@task(name="select-backend", task_run_name="select-backend", cache_policy=NO_CACHE, timeout_seconds=600)
def _select_backend(config: RunConfig) -> Backend:
    """Pick the compute backend (cpu / gpu) with, on the GPU, its memory settings: once per process."""
    return backends.select(config.backend, rmm_pool=config.rmm_pool, spill=config.spill)


class StageChain:
    """A flow run's stages as Prefect tasks, one after the other: `wrap` is the `wrap` that
    pipelines.stages.run_stages takes. Each task waits for the one before it, and its inputs are quoted: Prefect
    draws an edge from the previous stage alone, not from every task whose result a stage takes (the backend and
    the recipe go to nearly all of them). Each task run is tagged with the backend that runs it."""

    def __init__(self, config: RunConfig):
        state = _select_backend(config, return_state=True)
        self.backend: Backend = state.result()
        self.previous = state

    def wrap(self, stage: Stage) -> Callable[..., Any]:
        return lambda *arguments: self.then(TASKS[stage.name], *arguments, io=stage.io)

    def then(self, next_task: Any, *arguments: Any, io: bool = False) -> Any:
        """Run `next_task` on `arguments` after the chain's last task; returns its result."""
        chained = next_task.with_options(tags={self.backend.name, *(["io"] if io else [])})
        state = chained(*(quote(a) for a in arguments), wait_for=[self.previous], return_state=True)
        # The next task waits for this one's state with its result quoted: Prefect looks for upstream tasks inside
        # what a task waits for, and would find those whose results this result holds (the features hold the parts)
        self.previous = state.model_copy(update={"data": quote(None)})
        return state.result()


def track_in_mlflow(log: Callable[[dict[str, str]], dict[str, Any]], uri: str, logger: Any, key: str) -> dict:
    """`log(links)` (pipelines.tracking; links: this flow run's id and URL in Prefect), from the flow's own thread,
    and a link artifact `key` to the MLflow run's page. A failure is a warning ("not tracked: ...") and the record
    returned names it: what the flow wrote stands as written."""
    links = {"prefect.flow_run_id": flow_run.id, "prefect.flow_run_url": flow_run.ui_url}
    try:
        record = log(links)
    except NotTracked as exc:
        logger.warning("%s", exc)
        return {"uri": uri, "run_id": exc.run_id, "error": str(exc)}
    logger.info("tracked in MLflow: %s", record["url"] or f"{uri}, run {record['run_id']}")
    if record["url"]:
        create_link_artifact(key=key, link=record["url"], description="This flow run's MLflow run")
    return record


def tag_flow_run(tags: list[str]) -> None:
    """This flow run tagged with `tags` too (what is known only once it runs: the backend it took), so that
    Prefect's UI can filter runs by them."""
    from prefect.client.orchestration import get_client  # here: the flows' client, once per run

    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run.id, tags=sorted({*flow_run.tags, *tags}))
