"""What every dataset recipe gives, and the three stages that run a recipe: load, split, features.

A recipe is one small class per dataset (its input files, how they load, how they split, its feature workflow,
how new rows to score are prepared). The stages below call it; nothing else in the pipeline asks which dataset
is running. Runs on either backend: recipes use the pandas API that cuDF shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pipelines.backend import Backend, host_copy
from pipelines.cluster.frames import is_partitioned
from pipelines.cluster.partitions import computed, gathered, rows
from pipelines.config import RunConfig
from pipelines.data.load import load, resolve
from pipelines.data.placement import IN_PROCESS, Placement
from pipelines.data.profile import PROFILE_ROWS, profile_frame
from pipelines.data.split import Part, sample_rows
from pipelines.data.target import TARGET, TargetInfo
from pipelines.errors import DataError
from pipelines.features.feature_set import FeatureSet, OnWorkers
from pipelines.features.workflow import Workflow
from pipelines.files import sha256_file


@dataclass(kw_only=True)
class Dataset:
    """The loaded, validated table with its encoded target (in TARGET), and what loading noticed."""

    frame: Any  # None once split_dataset has moved the rows into the parts
    target: TargetInfo
    inputs: dict[str, str]  # file -> sha256
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    null_share: Any = None  # share of nulls per loaded column (the target excluded): a series on the backend


class Recipe:
    """One dataset. Subclasses set `name` and implement the methods; `code` names the modules whose source
    shapes its features (the feature cache key covers them)."""

    name: ClassVar[str]
    code: ClassVar[tuple[str, ...]] = ()
    # Peak resident bytes of the whole job per byte of input as frames (pipelines.data.footprint), as
    # measured on the CPU path; a recipe whose features multiply its columns sets its own.
    memory_factor: ClassVar[float] = 10.0

    def __init__(self, config: RunConfig):
        self.config = config
        self._inputs: dict[str, str] | None = None

    def check(self) -> None:
        """Fail fast on bad settings or input (a missing file or column), before anything is read or written."""

    def input_files(self) -> list[Path]:
        raise NotImplementedError

    def load(self, backend: Backend, placement: Placement = IN_PROCESS) -> Dataset:
        """The dataset. A recipe that reads its inputs with `placement.read` gets frames in this process, or, on a
        Dask cluster, a numbered dask DataFrame (pipelines.cluster.partitions) held on the workers; one that reads
        them itself gives a frame in this process wherever the run computes."""
        raise NotImplementedError

    def split(self, dataset: Dataset, backend: Backend) -> dict[str, Part]:
        raise NotImplementedError

    def workflow(self, dataset: Dataset, train: Part) -> tuple[Workflow, list[str]]:
        """The (unfitted) feature workflow for this dataset, and notes on what it left out."""
        raise NotImplementedError

    def rows_to_score(self, data: str | Path, backend: Backend, tables: dict[str, Path] | None = None) -> Any:
        """New rows at `data` shaped as the training rows were, before the workflow transforms them (joined with
        `tables` in place of the context tables, where given)."""
        return self.shape_to_score(load(resolve(data), backend), backend, tables)

    def shape_to_score(self, frame: Any, backend: Backend, tables: dict[str, Path] | None = None) -> Any:
        """New rows given as a frame of `backend` (as a served model receives them), shaped as the training rows
        were, joined with the `context_tables` (or `tables` in their place: a logged model's copies)."""
        return frame

    def score_notes(self, rows: Any, profile: dict[str, Any] | None) -> list[str]:
        """What to know about new rows shaped to score (`shape_to_score`) before trusting their predictions, beside
        their drift against the training `profile` (pipelines.scoring.drift): none here."""
        return []

    def context_tables(self) -> dict[str, Path]:
        """The tables new rows are joined with to be scored (by name), beside the rows themselves: none here."""
        return {}

    def example_to_score(self, rows: int = 5) -> pd.DataFrame:
        """The first `rows` of the training input as new rows come, without the target: a logged model's input
        example (pipelines.tracking)."""
        raise NotImplementedError

    def time_columns(self) -> list[str]:
        """Columns of points in time (the split's): later rows always lie beyond the training ones, so they are
        no drift features (what the workflow derives from them is)."""
        return [self.config.time_column] if self.config.time_column else []

    def files_to_score(self, data: str | Path, tables: dict[str, Path] | None = None) -> list[Path]:
        """The files `rows_to_score(data, backend, tables)` reads (an output must never be one of them): those at
        `data` and of the context tables."""
        context = tables or self.context_tables()
        return [*resolve(data).files, *(file for path in context.values() for file in resolve(path).files)]

    def hash_inputs(self) -> dict[str, str]:
        """sha256 of every input file, for the manifest and the feature cache key: read once per run (the
        cache lookup and the load share it, so the key and the manifest name the same bytes)."""
        if self._inputs is None:
            self._inputs = {str(path): sha256_file(path) for path in self.input_files()}
        return self._inputs


# --- the stages (pipelines.stages lists them in order) ---------------------------------------------------------
def load_dataset(recipe: Recipe, backend: Backend, placement: Placement = IN_PROCESS) -> Dataset:
    """Read the input files into the backend's frame, validated, target encoded; refused before any row is
    read when the run would not fit in memory (pipelines.data.footprint). The share of nulls per column is
    counted on the device for the report (it stays a series there until the report reads it). Where the rows
    live is the `placement`'s (pipelines.data.placement): on a Dask cluster, a recipe that reads through it loads
    on the workers (their own memory limits apply there) and the table stays there."""
    what = f"This run ({recipe.name} dataset)"
    placement.check_fits(recipe.input_files(), recipe.memory_factor, recipe.config.sample or 1.0, backend, what)
    with placement.working("Loading the data on the cluster"):
        dataset = recipe.load(backend, placement)
        dataset.frame = placement.hold(dataset.frame)
        refuse_infinite(dataset.frame)
        dataset.null_share = null_share(dataset.frame)
    return dataset


def refuse_infinite(frame: Any) -> None:
    """DataError naming the float columns that hold inf or -inf, with their rows in the whole input (every split)."""
    floats = [c for c in frame.columns if c != TARGET and pd.api.types.is_float_dtype(frame[c].dtype)]
    if not floats:
        return
    counts = host_copy(computed((frame[floats].abs() == np.inf).sum()))
    infinite = {column: int(count) for column, count in counts.items() if count}
    if infinite:
        raise DataError(
            f"The input holds infinite values (inf or -inf), rows per column: {infinite}. Features must be finite "
            "numbers: replace those values in the input (by a bound, or by an empty value, which is filled with the "
            f"training median), or leave the column(s) out ({' '.join(f'--drop {c}' for c in infinite)})."
        )


def null_share(frame: Any) -> Any:
    """Share of null values per column of a loaded frame, the encoded target left out (one reduction per column)."""
    columns = frame.drop(columns=[TARGET])
    return 1 - computed(columns.count()) / max(rows(columns), 1)


def split_dataset(
    recipe: Recipe, dataset: Dataset, backend: Backend, placement: Placement = IN_PROCESS
) -> dict[str, Part]:
    """Train / valid / test, as the recipe splits. The rows move into the parts: `dataset.frame` is None
    afterwards, so that the whole table is not held twice (on 10M rows, gigabytes) while the features are fitted."""
    with placement.working("Splitting the data on the cluster"):
        parts = recipe.split(dataset, backend)
    dataset.frame = None
    return parts


KEPT_ON_WORKERS = ("train", "valid")  # the splits the families that fit on the cluster read there


def fit_features(
    recipe: Recipe, dataset: Dataset, parts: dict[str, Part], placement: Placement = IN_PROCESS
) -> FeatureSet:
    """Fit the recipe's feature workflow on the training split only; transform every split. The training split
    goes where the `placement` computes (on a Dask cluster: its partitions since the load, or row blocks sent from
    this process); each split is transformed where its rows are. The fitted state and the features are the same
    wherever they were computed (pipelines.features.workflow). The features come back to this process; those of
    KEPT_ON_WORKERS computed on the workers stay there too (FeatureSet.on_workers)."""
    workflow, notes = recipe.workflow(dataset, parts["train"])
    with placement.working("Fitting the features on the cluster"):
        there = {**parts, "train": Part("train", placement.spread(parts["train"].frame))}
        held = {"train": workflow.fit_features(there["train"])}
        held.update({name: workflow.transform(part) for name, part in there.items() if name != "train"})
        on_workers = {
            name: OnWorkers(frame=placement.hold(held[name]), target=placement.hold(there[name].frame[TARGET]))
            for name in KEPT_ON_WORKERS
            if is_partitioned(held[name])
        }
        frames = {name: gathered(frame) for name, frame in held.items()}
        targets = {name: gathered(part.frame[TARGET]) for name, part in parts.items()}
    if is_partitioned(there["train"].frame):
        loaded_there = is_partitioned(parts["train"].frame)
        notes = [*notes, _workers_note(placement.workers, there["train"].frame.npartitions, loaded_there)]
    profile = training_profile(parts["train"].frame, dataset.target, recipe.config.seed, recipe.time_columns())
    return FeatureSet(
        workflow=workflow,
        frames=frames,
        targets=targets,
        target=dataset.target,
        inputs=dataset.inputs,
        counts=dataset.counts,
        notes=dataset.notes + notes,
        profile=profile,
        null_share=dataset.null_share,
        on_workers=on_workers,
    )


def _workers_note(workers: int, partitions: int, loaded_there: bool) -> str:
    where = (
        "the splits' partitions, on the workers since the load"
        if loaded_there
        else "row blocks of the training split sent from this process"
    )
    count = f"{partitions} partition{'s' if partitions != 1 else ''}"
    return f"features: the workflow was fitted on {workers} Dask workers ({count}: {where})"


def training_profile(frame: Any, target: TargetInfo, seed: int, time_columns: list[str] = ()) -> dict[str, Any]:
    """The drift reference of the training rows (at most PROFILE_ROWS of them): every column but the target and
    the time columns, which `left_out` names with the reason."""
    left_out = {c: TIME_LEFT_OUT for c in time_columns if c in frame.columns}
    columns = [c for c in frame.columns if c not in (TARGET, target.column, *left_out)]
    count = rows(frame)
    sample = gathered(sample_rows(frame, PROFILE_ROWS / count, seed) if count > PROFILE_ROWS else frame)
    return {"rows": len(sample), "columns": profile_frame(sample, columns), "left_out": left_out}


TIME_LEFT_OUT = "a time column: new rows come later than the training rows by nature (what derives from it is profiled)"
