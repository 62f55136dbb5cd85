"""A third dataset recipe, added by the tests as one file plus one registration line: rows drawn on the fly
from a known rule, so that a model that learns anything scores well above chance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.backend import Backend
from pipelines.data.split import Part, random_split, sample_rows
from pipelines.data.target import encode_target
from pipelines.datasets.base import Dataset, Recipe
from pipelines.errors import ConfigError
from pipelines.features import Categorify, FillMissing, Standardize, Workflow

ROWS = 3000


def draw(rows: int, seed: int, task: str) -> pd.DataFrame:
    """x1, x2 (with some nulls), a group; y = 2 x1 - x2 + [group == "b"] + noise (thresholded at 0 to classify)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=rows), "x2": rng.normal(size=rows)})
    frame["group"] = rng.choice(["a", "b", "c"], size=rows)
    signal = 2 * frame["x1"] - frame["x2"] + (frame["group"] == "b") + rng.normal(scale=0.5, size=rows)
    frame["y"] = (signal > 0).astype("int64") if task == "classification" else signal
    frame.loc[rng.random(rows) < 0.05, "x2"] = np.nan
    return frame


class Synthetic(Recipe):
    """Generated rows (no input files)."""

    name = "synthetic"
    code = (__name__,)

    def check(self) -> None:
        if self.config.data is not None:
            raise ConfigError("The synthetic dataset draws its rows; it takes no --data.")

    def input_files(self) -> list[Path]:
        return []

    def load(self, backend: Backend, placement: Any = None) -> Dataset:
        """Drawn here, with or without a Dask cluster (the features stage sends the training rows to one)."""
        config = self.config
        frame = sample_rows(backend.from_pandas(draw(ROWS, config.seed, config.task)), config.sample, config.seed)
        frame, target = encode_target(frame, "y", config.task, backend)
        return Dataset(
            frame=frame,
            target=target,
            inputs={},
            counts={"rows_loaded": len(frame)},
            notes=[f"{ROWS} rows drawn (seed {config.seed})"],
        )

    def split(self, dataset: Dataset, backend: Backend) -> dict[str, Part]:
        return random_split(dataset.frame, backend, seed=self.config.seed)

    def workflow(self, dataset: Dataset, train: Part) -> tuple[Workflow, list[str]]:
        return Workflow([Categorify(["group"]), FillMissing(["x1", "x2"]), Standardize(["x1", "x2"])]), []
