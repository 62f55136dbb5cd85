"""The `tune` flow: the feature stages once (through the feature cache), the handoff, then each family's Optuna study
on those features (pipelines.tuning), into the tune folder <output>/tune-<study>/.

    cache-lookup -> load -> split -> features -> cache-store -> handoff -> tune

The trials done of those asked are a progress artifact that updates as each trial ends; the flow's markdown
artifact gives each family's best settings, their validation and test metrics, and how to train with them
(`devicepipe run --params <folder>`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE

from flows.tasks import StageChain, track_in_mlflow
from pipelines import tuning
from pipelines.cluster.client import describe
from pipelines.config import RunConfig, describe_data
from pipelines.datasets import recipe_for
from pipelines.files import write_text_atomic, writing
from pipelines.runs.residency import Ledger
from pipelines.stages import HANDOFF, run_feature_stages, run_stages
from pipelines.tracking import tracking_uri
from pipelines.tracking.tuned import TRACKED, log_tune


@flow(name="tune")
def tune(config: RunConfig, request: tuning.TuneRequest, progress: bool = True) -> str:
    """Search the settings of `request.families` on the validation split; returns the tune folder."""
    logger = get_run_logger()
    chain = StageChain(config)
    backend = chain.backend
    logger.info("backend: %s (%s)", backend.name, backend.device_name)
    with tuning.tuning_where(config, request.jobs, backend.name) as (placement, client):
        if client is not None:
            logger.info("trials on Dask workers: %s", describe(client))
        return _tune(config, request, progress, chain, placement, client)


def _tune(
    config: RunConfig, request: tuning.TuneRequest, progress: bool, chain: StageChain, placement: Any, client: Any
) -> str:
    logger, backend = get_run_logger(), chain.backend
    values = {"recipe": recipe_for(config), "backend": backend, "config": config, "progress": progress}
    values["placement"] = placement
    ledger = Ledger.for_run(backend.is_gpu, strict=False)
    features = run_feature_stages(values, ledger, {}, chain.wrap, store=config.cache)
    request = tuning.study_for(request, features)  # a study per data (the tune deployment's): named now
    folder = tuning.tune_folder(config.output, request.study)
    tuning.check_folder(folder, request.study, describe_data(config))
    with writing("the tune folder", "--output"):
        folder.mkdir(parents=True, exist_ok=True)
    logger.info("tune folder %s", folder)
    run_stages((HANDOFF,), values, ledger, {}, chain.wrap)
    tracker = create_progress_artifact(progress=0.0, key="tune-progress", description=f"{request.study}: trials done")

    def on_trial(done: int, asked: int) -> None:
        update_progress_artifact(tracker, progress=100.0 * done / asked, description=f"{done} of {asked} trials")

    searched = (features, values["handoff"], config, backend, request, folder, logger.info, on_trial, client)
    best = chain.then(tune_task, *searched)
    create_markdown_artifact(key="tune-best", markdown=_summary(best, folder), description="tune: the best settings")
    track_tune(folder, config, logger)
    return str(folder)


def track_tune(folder: Path, config: RunConfig, logger: Any) -> None:
    """The study logged to MLflow when tracking is on (pipelines.tracking.tuned): its run, its trials as child
    runs; where it went (or "not tracked: ...") recorded in the folder's tracking.json."""
    uri = tracking_uri(config)
    if uri is None:
        return
    experiment = config.experiment or config.dataset
    record = track_in_mlflow(lambda links: log_tune(folder, uri, experiment, links), uri, logger, "mlflow-tune")
    write_text_atomic(folder / TRACKED, json.dumps(record, indent=2) + "\n")


tune_task = task(tuning.tune, name="tune", task_run_name="tune", cache_policy=NO_CACHE)


def _summary(best: dict[str, Any], folder: Path) -> str:
    metric = best["metric"]
    lines = [f"# Tuned on {best['data']} (study `{best['study']}`)", ""]
    lines += [f"| family | trials | valid {metric} | test {metric} | settings |", "|---|---|---|---|---|"]
    for name, entry in best["families"].items():
        trials = entry["trials"]
        lines.append(
            f"| {name} | {trials['complete']} complete, {trials['pruned']} pruned | {entry['valid'][metric]:.4f} | "
            f"{entry['test'][metric]:.4f} | `{json.dumps(entry['settings'])}` |"
        )
    return "\n".join([*lines, "", f"Train with them: `devicepipe run --params {folder}`"])
