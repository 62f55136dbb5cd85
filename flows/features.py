"""The `features` flow: load, split and fit the feature workflow, and store the features in the cache.

A later `train` run on the same inputs, settings and code takes them from there. Returns the cache entry. With
`cluster` set, the flow opens the Dask cluster around the stages, as the train flow does.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.tasks import StageChain
from pipelines.config import RunConfig
from pipelines.data.placement import placement_of
from pipelines.runs.residency import Ledger
from pipelines.stages import check_run, run_feature_stages


@flow(name="features")
def build_features(config: RunConfig = RunConfig()) -> str:  # noqa: B008 (Prefect reads the default)
    """Compute (or find) the features for these inputs and settings; returns the cache entry's folder."""
    recipe = check_run(config)
    chain = StageChain(config)
    backend = chain.backend
    logger = get_run_logger()
    with placement_of(config, backend.name) as placement:
        logger.info("where the rows live: %s", placement.describe())
        values = {"recipe": recipe, "backend": backend, "placement": placement}
        features = run_feature_stages(values, Ledger.for_run(backend.is_gpu, strict=False), {}, chain.wrap, store=True)
    found = "already in" if features.cache["hit"] else "written to"
    logger.info("features %s the cache: %s", found, features.cache["path"])
    return features.cache["path"]
