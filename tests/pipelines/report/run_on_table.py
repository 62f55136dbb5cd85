"""A real run on a CSV table, for the report's tests: the table, and the stages of a train run on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipelines import backend as backends
from pipelines.config import RunConfig
from pipelines.runs.record import residency_record
from pipelines.runs.residency import Ledger
from pipelines.runs.rundir import RunDirectory
from pipelines.stages import MODEL_STAGES, check_run, fitted_models, run_feature_stages, run_stages

ROWS, MISSING_TARGET = 2000, 12
STAGES = ("cache-lookup", "load", "split", "features", "handoff", "baselines", "train")


def draw(task: str, rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """x1 carries most of the signal, x2 some (with nulls), group a little, noise none; a few targets missing."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=rows), "x2": rng.normal(size=rows), "noise": rng.normal(size=rows)})
    frame["group"] = rng.choice(["a", "b", "c"], size=rows)
    signal = 2 * frame["x1"] - 0.7 * frame["x2"] + 0.3 * (frame["group"] == "b") + rng.normal(scale=0.5, size=rows)
    frame["y"] = (signal > 0).astype("float64") if task == "classification" else signal
    frame.loc[rng.random(rows) < 0.08, "x2"] = np.nan
    frame.loc[rng.choice(rows, MISSING_TARGET, replace=False), "y"] = np.nan
    return frame


def fit(csv: Path, task: str, root: Path) -> tuple:
    """The stages of a train run on `csv`, without Prefect: what `write_run` takes."""
    config = RunConfig(
        data=str(csv), target="y", task=task, epochs=3, output=str(root / "runs"), data_dir=str(root), backend="cpu"
    )
    backend = backends.cpu_backend()
    run = RunDirectory(config.output)
    values = {"recipe": check_run(config), "backend": backend, "config": config, "progress": False}
    values["checkpoints"] = run.path("checkpoints")
    ledger, seconds = Ledger(enabled=False), {}
    features = run_feature_stages(values, ledger, seconds, store=False)
    run_stages(MODEL_STAGES, values, ledger, seconds)
    residency = residency_record(ledger.as_dict(), values["handoff"])
    return run, config, backend, features, values["handoff"], fitted_models(values), seconds, residency
