"""The `features` flow: load, split and fit the feature workflow, and store the features in the cache.

A later `train` run on the same inputs, settings and code takes them from there. Returns the cache entry.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.train import cache_lookup, cache_store, features, load, select_backend, split
from pipelines import job
from pipelines.cache import FeatureCache
from pipelines.config import RunConfig


@flow(name="features")
def build_features(
    data: str | None = None,
    target: str | None = None,
    task: str = "classification",
    time_column: str | None = None,
    drop: list[str] | None = None,
    backend: str = "auto",
    data_dir: str = "data",
    seed: int = 0,
    sample: float | None = None,
) -> str:
    """Compute (or find) the features for these inputs and settings; returns the cache entry's folder."""
    config = RunConfig(
        data=data,
        target=target,
        task=task,
        time_column=time_column,
        drop=list(drop or []),
        backend=backend,
        data_dir=data_dir,
        seed=seed,
        sample=sample,
    )
    job.check_inputs(config)
    chosen = select_backend(config)
    _inputs, key, entry = cache_lookup(config, chosen)
    if entry is not None:
        path = str(FeatureCache(config.cache_dir).path(key))
        get_run_logger().info("features already in the cache: %s", path)
        return path
    dataset = load(config, chosen)
    parts = split(dataset, config, chosen)
    path = cache_store(job.feature_set(dataset, parts, features(dataset, parts, config)), config, key)
    get_run_logger().info("features written to the cache: %s", path)
    return path
