"""What every dataset recipe gives, and the three stages that run a recipe: load, split, features.

A recipe is one small class per dataset (its input files, how they load, how they split, its feature workflow,
how new rows to score are prepared). The stages below call it; nothing else in the pipeline asks which dataset
is running. Runs on either backend: recipes use the pandas API that cuDF shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pipelines.backend import Backend
from pipelines.cluster.frames import is_partitioned
from pipelines.cluster.partitions import computed, gathered, persisted, rows
from pipelines.config import RunConfig
from pipelines.data.footprint import check_fits, input_bytes
from pipelines.data.profile import PROFILE_ROWS, profile_frame
from pipelines.data.split import Part, sample_rows
from pipelines.data.target import TARGET, TargetInfo
from pipelines.features.feature_set import FeatureSet, OnWorkers
from pipelines.features.workflow import Workflow
from pipelines.files import sha256_file


@dataclass
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

    def load(self, backend: Backend, cluster: Any = None) -> Dataset:
        """The dataset; with a Dask `cluster`, a recipe that can read in partitions gives a numbered dask
        DataFrame (pipelines.cluster.partitions) held on the workers, the others a frame in this process. A recipe
        whose `load` takes only `backend` still runs without a cluster."""
        raise NotImplementedError

    def split(self, dataset: Dataset, backend: Backend) -> dict[str, Part]:
        raise NotImplementedError

    def workflow(self, dataset: Dataset, train: Part) -> tuple[Workflow, list[str]]:
        """The (unfitted) feature workflow for this dataset, and notes on what it left out."""
        raise NotImplementedError

    def rows_to_score(self, data: str | Path, backend: Backend) -> Any:
        """New rows at `data` shaped as the training rows were, before the workflow transforms them."""
        raise NotImplementedError

    def hash_inputs(self) -> dict[str, str]:
        """sha256 of every input file, for the manifest and the feature cache key: read once per run (the
        cache lookup and the load share it, so the key and the manifest name the same bytes)."""
        if self._inputs is None:
            self._inputs = {str(path): sha256_file(path) for path in self.input_files()}
        return self._inputs


# --- the stages (pipelines.stages lists them in order) ---------------------------------------------------------
def load_dataset(recipe: Recipe, backend: Backend, cluster: Any = None) -> Dataset:
    """Read the input files into the backend's frame, validated, target encoded; refused before any row is
    read when the run would not fit in memory (pipelines.data.footprint). The share of nulls per column is
    counted on the device for the report (it stays a series there until the report reads it). With a Dask
    `cluster`, a recipe that reads in partitions loads on the workers (their own memory limits apply there) and
    the table stays there, persisted."""
    if cluster is None:
        size, fraction = input_bytes(recipe.input_files()), recipe.config.sample or 1.0
        check_fits(size, recipe.memory_factor, fraction, backend, f"This run ({recipe.name} dataset)")
    if cluster is None:
        dataset = recipe.load(backend)
        dataset.null_share = null_share(dataset.frame)
        return dataset
    from pipelines.cluster.client import worker_losses

    with worker_losses("Loading the data on the cluster"):
        dataset = recipe.load(backend, cluster)
        dataset.frame = persisted(dataset.frame)
        dataset.null_share = null_share(dataset.frame)
    return dataset


def null_share(frame: Any) -> Any:
    """Share of null values per column of a loaded frame, the encoded target left out (one reduction per column)."""
    columns = frame.drop(columns=[TARGET])
    return 1 - computed(columns.count()) / max(rows(columns), 1)


def split_dataset(recipe: Recipe, dataset: Dataset, backend: Backend) -> dict[str, Part]:
    """Train / valid / test, as the recipe splits. The rows move into the parts: `dataset.frame` is None
    afterwards, so that the whole table is not held twice (on 10M rows, gigabytes) while the features are fitted."""
    if is_partitioned(dataset.frame):
        from pipelines.cluster.client import worker_losses

        with worker_losses("Splitting the data on the cluster"):
            parts = recipe.split(dataset, backend)
    else:
        parts = recipe.split(dataset, backend)
    dataset.frame = None
    return parts


def fit_features(recipe: Recipe, dataset: Dataset, parts: dict[str, Part], cluster: Any = None) -> FeatureSet:
    """Fit the recipe's feature workflow on the training split only; transform every split. With a Dask
    `cluster`, the workflow is fitted on its workers (the same fitted state and features as in this process:
    pipelines.features.cluster_fit): over the parts' own partitions when the load read in partitions, every split
    transformed there too; else over row blocks of about --partition-size of the training split sent from here,
    the smaller splits transformed here. The features come back to this process; the training split's (and the
    validation split's, where it was transformed there) stay on the workers too (FeatureSet.on_workers)."""
    workflow, notes = recipe.workflow(dataset, parts["train"])
    on_workers: dict[str, OnWorkers] = {}
    if cluster is None:
        workflow.fit(parts["train"])
        frames = {name: workflow.transform(part) for name, part in parts.items()}
    else:
        frames, on_workers, note = _fit_on_cluster(workflow, parts, cluster, recipe.config.partition_size)
        notes = [*notes, note]
    targets = {name: gathered(part.frame[TARGET]) for name, part in parts.items()}
    profile = training_profile(parts["train"].frame, dataset.target, recipe.config.seed)
    notes = dataset.notes + notes
    return FeatureSet(
        workflow,
        frames,
        targets,
        dataset.target,
        dataset.inputs,
        dataset.counts,
        notes,
        profile=profile,
        null_share=dataset.null_share,
        on_workers=on_workers,
    )


KEPT_ON_WORKERS = ("train", "valid")  # the splits the families that fit on the cluster read there


def _fit_on_cluster(workflow: Workflow, parts: dict[str, Part], cluster: Any, size: str) -> tuple[dict, dict, str]:
    """The features fitted on the workers: over the parts' partitions when the load read in partitions (every
    split transformed there too), else over row blocks of the training split sent from here. Returns the frames
    gathered here, the splits of KEPT_ON_WORKERS that are on the workers, and a note."""
    from pipelines.cluster.client import scatter_frame, worker_losses
    from pipelines.features.cluster_fit import fit_features as fit_on_workers
    from pipelines.features.cluster_fit import transform_features

    with worker_losses("Fitting the features on the cluster"):
        if is_partitioned(parts["train"].frame):
            train = parts["train"].frame
            held = {"train": fit_on_workers(workflow, parts["train"], cluster)[1]}
            held.update({name: transform_features(workflow, parts[name], cluster) for name in parts if name != "train"})
            where = "the splits' partitions, on the workers since the load"
        else:
            train, _ = scatter_frame(cluster, parts["train"].frame, size)
            held = {"train": fit_on_workers(workflow, Part("train", train), cluster)[1]}
            held.update({name: workflow.transform(part) for name, part in parts.items() if name != "train"})
            parts = {**parts, "train": Part("train", train)}
            where = "row blocks of the training split sent from this process"
        on_workers = {
            name: OnWorkers(persisted(held[name]), persisted(parts[name].frame[TARGET]))
            for name in KEPT_ON_WORKERS
            if is_partitioned(held[name])
        }
        frames = {name: gathered(frame) for name, frame in held.items()}
    workers = len(cluster.nthreads())
    count = f"{train.npartitions} partition{'s' if train.npartitions != 1 else ''}"
    note = f"features: the workflow was fitted on {workers} Dask workers ({count}: {where})"
    return frames, on_workers, note


def training_profile(frame: Any, target: TargetInfo, seed: int) -> dict[str, Any]:
    """The drift reference of the training rows (at most PROFILE_ROWS of them): every column but the target."""
    columns = [c for c in frame.columns if c not in (TARGET, target.column)]
    count = rows(frame)
    sample = gathered(sample_rows(frame, PROFILE_ROWS / count, seed) if count > PROFILE_ROWS else frame)
    return {"rows": len(sample), "columns": profile_frame(sample, columns)}
