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
from pipelines.runs.record import residency_record, write_run
from pipelines.runs.residency import Ledger
from pipelines.runs.rundir import CONFIG, RunDirectory
from pipelines.stages import MODEL_STAGES, check_run, fitted_models, run_feature_stages, run_stages


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
            ledger, seconds = Ledger.for_run(backend.is_gpu, config.strict_residency), {}
            features = run_feature_stages(values, ledger, seconds, store=config.cache)
            run_stages(MODEL_STAGES, values, ledger, seconds)
            if config.strict_residency:
                ledger.check()
            residency = residency_record(ledger.as_dict(), values["handoff"])
            return write_run(
                run, config, backend, features, values["handoff"], fitted_models(values), seconds, residency
            )
    except BaseException:
        if not run.committed:
            run.abort()  # nothing half written
        raise
