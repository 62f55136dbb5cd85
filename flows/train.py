"""The `train` flow: the pipeline's stages (pipelines.stages) as tasks, then the run directory.

    cache-lookup -> load -> split -> features -> cache-store -> handoff -> baselines -> train -> write-run

A cache hit skips load, split and features. The run's settings are one typed parameter, RunConfig. With
`cluster` set (--cluster local, local-cuda or a scheduler's address), the flow opens the Dask cluster before the
stages and closes it after them; the families with a Dask interface fit on its workers (pipelines.cluster.client). With
no PREFECT_API_URL set, Prefect runs this on its embedded temporary server. The run's markdown artifact is its
report.md (metrics, data summary, importance, seconds per stage, residency, notes) with report.html's path.

    python -m flows.train [--data PATH --target COL ...]   (same options as `devicepipe run`)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows import fixed_cost
from flows.tasks import StageChain, tag_flow_run, track_in_mlflow
from pipelines.cluster.memory import describe_peaks
from pipelines.config import RunConfig
from pipelines.data.placement import Placement, placement_of
from pipelines.datasets import recipe_for
from pipelines.features.feature_set import FeatureSet
from pipelines.files import writing
from pipelines.report.markdown import best_line
from pipelines.runs.record import gpu_only_note, write_run
from pipelines.runs.rundir import CONFIG, INCOMPLETE, RUN_NAME, RunDirectory, new_run_name
from pipelines.stages import check_run, train_all
from pipelines.tracking import log_run, record_tracking, tracked_model, tracking_uri

CHECKPOINTS = "checkpoints"
_committed: list[str] = []  # the run directories this process's flow runs completed, in order


def committed_runs() -> list[str]:
    """The run directories written whole by the train flows of this process (a run is committed before its flow
    run reports its final state to the server)."""
    return list(_committed)


write_run_task = task(
    write_run, name="write-run", task_run_name="write-run", cache_policy=NO_CACHE, timeout_seconds=1800, tags=["io"]
)


def open_run(config: RunConfig, resume: str | None, name: str | None = None) -> tuple[RunDirectory, RunConfig]:
    """A new run directory for `config` (named `name`: the flow run's), or the interrupted one at `resume` with the
    config it was started with."""
    if resume is None:
        run = RunDirectory(config.output, name if name and RUN_NAME.fullmatch(name) else None)
        with writing("the run directory", "--output"):
            run.write_json(CONFIG, config.as_dict())
        return run, config
    run = RunDirectory.reopen(resume)
    return run, RunConfig.from_dict(run.read_json(CONFIG)).check()


def run_name() -> str:
    """The flow run's name: the run directory's (a new one, or the resumed run's), so that Prefect's UI and the
    runs folder name a run alike."""
    resume = flow_run.parameters.get("resume")
    return Path(resume).name.removeprefix(INCOMPLETE) if resume else new_run_name()


@flow(name="train", flow_run_name=run_name)
def train(config: RunConfig = RunConfig(), progress: bool = True, resume: str | None = None) -> str:  # noqa: B008
    """Train and evaluate the baselines and the MLP; returns the run directory.

    `resume`: the `.incomplete-<name>` folder of an interrupted run; its saved config replaces `config`.
    """
    if resume is None:
        check_run(config)
    run, config = open_run(config, resume, flow_run.name)
    logger = get_run_logger()
    try:
        return _train(run, config, progress, logger)
    except BaseException:
        if run.committed:
            raise  # written whole before the failure (the Prefect server lost after the commit, say): kept
        if any(run.path(CHECKPOINTS).glob("*.pt")):
            run.keep_only(CONFIG, CHECKPOINTS)  # free what else it wrote: a resume writes it again
            run.release()  # resumable at once, from this process too
            logger.error("the run stopped; its checkpoints are kept: devicepipe run --resume %s", run.staging)
        else:
            run.abort()  # nothing worth keeping: leave nothing half written
        raise
    finally:
        if run.committed:
            _committed.append(str(run.final))


def _train(run: RunDirectory, config: RunConfig, progress: bool, logger: Any) -> str:
    chain = StageChain(config)
    backend = chain.backend
    logger.info("backend: %s (%s); dataset %s; run %s", backend.name, backend.device_name, config.dataset, run.name)
    sampled = [f"sample:{config.sample}"] if config.sample else []
    tag_flow_run([f"dataset:{config.dataset}", f"backend:{backend.name}", *sampled])
    with placement_of(config, backend.name) as placement:
        logger.info("where the rows live: %s", placement.describe())
        return _run_stages(run, config, progress, logger, chain, placement)


def _run_stages(
    run: RunDirectory, config: RunConfig, progress: bool, logger: Any, chain: StageChain, placement: Placement
) -> str:
    backend = chain.backend
    values = {"recipe": recipe_for(config), "backend": backend, "config": config, "progress": progress}
    values.update(checkpoints=run.path(CHECKPOINTS), placement=placement)

    def features_ready(features: FeatureSet) -> None:
        if features.cache["hit"]:
            logger.info("features from the cache (%s): load, split and features skipped", features.cache["path"])
        if note := gpu_only_note(config, backend):
            logger.warning(note)

    fixed_cost.mark("stages-begin")
    done = train_all(values, chain.wrap, features_ready)
    fixed_cost.mark("stages-end")
    if (workers := placement.memory_record(config.cluster)) is not None:
        logger.info("Dask workers' peak memory: %s", describe_peaks(workers["worker_peak_bytes"]))
    made_by = {"id": flow_run.id, "url": flow_run.ui_url}
    trained = (done.features, done.handoff, done.fitted, done.seconds, done.residency)
    written = (run, config, backend, *trained, workers, made_by)
    run_dir = chain.then(write_run_task, *written, io=True)
    fixed_cost.mark("run-written")
    # One line: the table itself is the train-test-metrics artifact, and the command line prints it when done
    logger.info("%s; run directory: %s", best_line(json.loads((Path(run_dir) / "metrics.json").read_text())), run_dir)
    track(Path(run_dir), config, logger)
    folder = Path(run_dir).resolve()
    publish_metrics(folder)
    create_markdown_artifact(
        key="train-metrics",
        markdown=(folder / "report.md").read_text()
        + f"\n---\n\nRun directory: `{folder}`\n\nReport with figures (opens offline): `{folder / 'report.html'}`",
        description="train flow: the run's report (report.md), with the paths of the run and its report.html",
    )
    return str(run_dir)


def publish_metrics(folder: Path) -> None:
    """The test metrics as a table artifact (a row per model, the best marked, and the trivial baseline's) and a link
    artifact to the report."""
    metrics = json.loads((folder / "metrics.json").read_text())
    rows = [
        {"model": name + (" (best)" if name == metrics["best_model"] else ""), **_rounded(entry["test"])}
        for name, entry in metrics["models"].items()
    ]
    if baseline := metrics.get("trivial_baseline"):  # what every model must beat, beside them
        rows.append({"model": f"trivial baseline ({baseline['name']})", **_rounded(baseline["test"])})
    create_table_artifact(key="train-test-metrics", table=rows, description=f"{folder.name}: test metrics")
    report = (folder / "report.html").as_uri()
    create_link_artifact(key="train-report", link=report, link_text="report.html", description="The run's report")


def track(folder: Path, config: RunConfig, logger: Any) -> None:
    """The written run logged to MLflow when tracking is on (pipelines.tracking), with links both ways (the Prefect
    flow run as tags, the MLflow run as a link artifact); the record (or "not tracked: ..." as a note) goes into the
    manifest: the run's folder stands as written."""
    uri = tracking_uri(config)
    if uri is None:
        return
    experiment = config.experiment or config.dataset
    record = track_in_mlflow(lambda links: log_run(folder, uri, experiment, links), uri, logger, "mlflow-run")
    record_tracking(folder, record, record.get("error"))
    for line in tracked_model(record):
        logger.info("%s", line)


if __name__ == "__main__":
    import os
    import sys

    # The same as `devicepipe run`, in this process: a fresh interpreter, so that the run finds or starts its
    # Prefect server before Prefect is imported (flows/server/selection.py); this module has imported it already.
    os.execv(sys.executable, [sys.executable, "-m", "flows.cli", "run", *sys.argv[1:]])


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    """Metrics as a table shows them: four decimals (metrics.json keeps every digit)."""
    return {name: round(value, 4) for name, value in scores.items()}
