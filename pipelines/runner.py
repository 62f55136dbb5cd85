"""A whole run in one call, in this process, without Prefect: what the train flow does (flows/train.py), for
notebooks and scripts. `train(RunConfig(...))` runs the stages (through the feature cache), writes the run
directory as `devicepipe run` does (metrics, bundle, report, manifest) and returns its path; nothing is left half
written if a stage fails. A Prefect flow run, its artifacts, MLflow tracking and --resume are the flow's.
"""

from __future__ import annotations

from pathlib import Path

from pipelines import backend as backends
from pipelines.config import RunConfig
from pipelines.data.placement import placement_of
from pipelines.files import writing
from pipelines.runs.record import write_run
from pipelines.runs.rundir import CONFIG, RunDirectory
from pipelines.stages import check_run, train_all


def train(config: RunConfig, progress: bool = False) -> Path:
    """Train and evaluate the run `config` describes; returns its run directory."""
    recipe = check_run(config)
    backend = backends.select(config.backend, rmm_pool=config.rmm_pool, spill=config.spill)
    run = RunDirectory(config.output)
    with writing("the run directory", "--output"):
        run.write_json(CONFIG, config.as_dict())
    try:
        with placement_of(config, backend.name) as placement:
            values = {"recipe": recipe, "backend": backend, "config": config, "progress": progress}
            values.update(checkpoints=run.path("checkpoints"), placement=placement)
            done = train_all(values)
            return write_run(
                run, config, backend, done.features, done.handoff, done.fitted, done.seconds, done.residency
            )
    except BaseException:
        if not run.committed:
            run.abort()  # nothing half written
        raise
