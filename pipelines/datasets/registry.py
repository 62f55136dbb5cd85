"""The registry of dataset recipes (RECIPES, by name), and the recipe a run's settings name."""

from __future__ import annotations

from pipelines.config import RunConfig
from pipelines.datasets.base import Recipe
from pipelines.datasets.flights import Flights
from pipelines.datasets.table import Table
from pipelines.errors import ConfigError

RECIPES: dict[str, type[Recipe]] = {
    Flights.name: Flights,
    Table.name: Table,
}


def recipe_for(config: RunConfig) -> Recipe:
    """The recipe that `config.dataset` names, for `config`."""
    if config.dataset not in RECIPES:
        raise ConfigError(f"Unknown dataset {config.dataset!r}: expected one of {', '.join(RECIPES)}.")
    return RECIPES[config.dataset](config)
