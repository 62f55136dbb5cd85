"""scikit-learn estimators and their cuML twins: one class per model, the pair and its parameters named once.

The backend instantiates the twin of its family (cuML with output_type="cupy" on the GPU, scikit-learn on the
CPU) from the same parameters. Estimators read the feature frame directly. Saved as skops (cuML models through
`as_sklearn`), loaded back onto the backend's device (`from_sklearn` on the GPU), never as plain pickle; loading
trusts only skops' defaults and the types the family lists (`trusted_types`), and checks the model's class.
"""

from __future__ import annotations

import warnings
from operator import attrgetter
from pathlib import Path
from typing import Any, ClassVar

import torch

from pipelines.backend import Backend, model_transfers
from pipelines.backend.base import load_class
from pipelines.cluster.partitions import partition_lengths
from pipelines.data.placement import Placement
from pipelines.data.split import sample_rows
from pipelines.errors import ConfigError, DataError
from pipelines.features.workflow import Workflow
from pipelines.files import atomic_path
from pipelines.models.base import FitOptions, ModelAdapter, Split, labels

ONE_HOT_MAX = 64  # categorical codes with at most this many values reach linear models one-hot


class Estimator(ModelAdapter):
    """A scikit-learn estimator with an optional cuML twin. Subclasses set `classes` per task and `params`."""

    classes: ClassVar[dict[str, dict[str, str]]]  # task -> {"sklearn": "module.Class", "cuml": "module.Class"}
    params: ClassVar[dict[str, Any]] = {}  # taken by both twins
    family_params: ClassVar[dict[str, dict[str, Any]]] = {}  # "sklearn" | "cuml" -> what only that twin takes
    files = ("{name}.skops",)
    # Linear models read codes as numbers otherwise: they get the numeric columns (target encodings included)
    # and one column per value of each categorical column with at most `one_hot_max` values.
    one_hot: ClassVar[bool] = False
    one_hot_max: int = ONE_HOT_MAX  # a setting of the linear families (tuned, and saved beside the model)
    # Most training rows the estimator sees (a seeded sample beyond it, noted in the run): a bound on its memory.
    fit_rows: ClassVar[int | None] = None
    # Most training rows scikit-learn's twin sees, where its solver's time grows faster than the rows.
    sklearn_rows: ClassVar[int | None] = None
    # Types a saved model holds beyond those skops trusts by default (scikit-learn's estimators, NumPy): loading
    # refuses a file that names any other.
    trusted_types: ClassVar[tuple[str, ...]] = ()
    tuned: ClassVar[tuple[str, ...]] = ()  # keys of `params` a tuning trial draws (`search_space`)

    def __init__(self, task: str, backend: Backend, workflow: Workflow, estimator: Any = None):
        super().__init__(task, backend, workflow)
        self.estimator = estimator
        self.workers: int | None = None  # the Dask workers it was fitted on (None: in this process)

    @classmethod
    def pair(cls, task: str, backend: Backend) -> dict[str, str]:
        """The class paths for `task`; a ConfigError where the backend's family has no such class."""
        pair = cls.classes[task]
        if backend.estimator_family not in pair:
            raise ConfigError(
                f"{cls.name} has no {backend.estimator_family} class, so it cannot run on the {backend.name} "
                f"backend; run it with --backend cpu, or leave it out with --model."
            )
        return pair

    @classmethod
    def warm_up(cls, task: str, backend: Backend) -> None:
        load_class(cls.pair(task, backend)[backend.estimator_family])
        import skops.io  # noqa: F401 (`save` writes the model with it: about a second of import)

    @classmethod
    def defaults(cls, task: str) -> dict[str, Any]:
        return {name: cls.params[name] for name in cls.tuned}

    def fit(self, train: Split, valid: Split, options: FitOptions) -> None:
        settings = dict(self.check_settings(self.task, options.settings))
        self.one_hot_max = settings.pop("one_hot_max", self.one_hot_max)  # the design's, not the estimator's
        params = {**self.params, **self.family_params.get(self.backend.estimator_family, {}), **settings}
        client = options.placement.client
        if client is not None and train.on_workers is not None:  # the workers hold every training row
            twin = self.backend.cluster_estimator(self.pair(self.task, self.backend), client, **params)
            if twin is not None:
                self._fit_on_cluster(twin, train.on_workers, options.placement)
                return
            warnings.warn(
                f"fitted in the run's process, not on the Dask cluster: {self.backend.estimator_family} has no Dask "
                "estimator for it (cuML's run on --cluster local-cuda with --backend gpu)",
                stacklevel=2,
            )
        self.estimator = self.backend.estimator(self.pair(self.task, self.backend), **params)
        frame, target = train.frame, labels(train, self.task)
        most, why = self._row_budget()
        if most is not None and len(frame) > most:
            warnings.warn(
                f"fitted on a seeded sample of {most:,} of the {len(frame):,} training rows ({why})", stacklevel=2
            )
            frame = sample_rows(frame.assign(__label=target), most / len(frame), options.seed)
            frame, target = frame.drop(columns=["__label"]), frame["__label"]
        design = self.design(frame)
        with model_transfers(f"{self.backend.estimator_family}'s {self.name} fit (what it keeps on the host)"):
            self.estimator.fit(design, target)

    def _row_budget(self) -> tuple[int | None, str]:
        """The most training rows the estimator sees on this backend (None: all), and why."""
        budgets = [(self.fit_rows, "its memory grows with rows times one-hot columns")]
        if self.backend.estimator_family == "sklearn":
            budgets.append((self.sklearn_rows, "scikit-learn's solver takes time that grows faster than the rows"))
        return min(((rows, why) for rows, why in budgets if rows is not None), default=(None, ""))

    def _fit_on_cluster(self, twin: Any, held: Any, placement: Placement) -> None:
        """`twin` (cuML's Dask estimator) fitted on every training row where the workers hold them; the
        single-GPU model it combines to is kept, so predicting and saving are as for a model fitted here."""
        self.workers = placement.workers
        target = labels(held, self.task)
        with placement.working(f"{self.name}'s fit on the cluster"):
            if self.one_hot:
                twin.fit(*self.design_partitions(held.frame, target, partition_lengths(held.frame)))
            else:
                twin.fit(held.frame, target)
        self.estimator = twin.get_combined_model()

    def design_partitions(self, frame: Any, target: Any, lengths: list[int]) -> tuple[Any, Any]:
        """`design` mapped over a dask DataFrame's partitions (of `lengths` rows), and the target's values: two
        dask arrays of the backend's arrays (CuPy on the GPU), one block per partition that has rows (the same
        blocks in both, as cuML requires)."""
        import dask
        import dask.array as da

        xp, width = self.backend.xp, self.design(frame._meta).shape[1]
        design, values = dask.delayed(self.design), dask.delayed(attrgetter("values"))  # NumPy; CuPy for cuDF
        x_meta, y_meta = xp.empty((0, width), dtype=xp.float32), xp.empty((0,), dtype=target.dtype)
        parts = [(x, y, n) for x, y, n in zip(frame.to_delayed(), target.to_delayed(), lengths, strict=True) if n]
        x = [da.from_delayed(design(part), (n, width), dtype=xp.float32, meta=x_meta) for part, _, n in parts]
        y = [da.from_delayed(values(part), (n,), dtype=target.dtype, meta=y_meta) for _, part, n in parts]
        return da.concatenate(x), da.concatenate(y)

    def details(self) -> dict[str, Any]:
        return {"dask_workers": self.workers}

    def predict(self, split: Split) -> torch.Tensor:
        return self.backend.predict_scores(self.estimator, self.design(split.frame), self.task)

    def design(self, frame: Any) -> Any:
        """The columns this estimator reads: the feature frame, or for linear models one float32 matrix of the
        numbers and then one-hot codes (one column per value of each small categorical column, from the
        workflow's cardinalities so every split gets the same columns). Built in place, one allocation: the
        estimator reads it without another copy (a frame of one-hot columns cost two more on 2M rows)."""
        if not self.one_hot:
            return frame
        workflow, xp, view = self.workflow, self.backend.xp, self.backend.column_view
        small = [c for c in workflow.categorical_ if workflow.cardinalities_[c] <= self.one_hot_max]
        width = len(workflow.numeric_) + sum(workflow.cardinalities_[c] for c in small)
        matrix = xp.zeros((len(frame), width), dtype=xp.float32)
        for i, column in enumerate(workflow.numeric_):
            matrix[:, i] = view(frame[column])
        offset, rows = len(workflow.numeric_), xp.arange(len(frame))
        for column in small:
            codes, cardinality = view(frame[column]), workflow.cardinalities_[column]
            known = (codes >= 0) & (codes < cardinality)  # a code outside the fitted values: no column is 1
            matrix[rows[known], offset + codes[known]] = 1.0
            offset += cardinality
        return matrix

    def save(self, folder: Path) -> None:
        import skops.io

        with atomic_path(folder / f"{self.name}.skops") as tmp:
            skops.io.dump(self.backend.portable_estimator(self.estimator), tmp)

    @classmethod
    def load(cls, folder: Path, task: str, backend: Backend, workflow: Workflow) -> Estimator:
        import skops.io

        path = folder / f"{cls.name}.skops"
        # The manifest's sha256 is one check; a manifest can be rewritten with the files, so the types the file
        # names are checked too: skops' defaults (scikit-learn, NumPy) and this family's own, nothing else.
        unexpected = sorted(set(skops.io.get_untrusted_types(file=path)) - set(cls.trusted_types))
        if unexpected:
            raise UntrustedModel(
                f"{path} names type(s) {unexpected} that a saved {cls.name} never holds: refusing to load it, since "
                "loading would import them. Use an untouched copy of the run, or train it again."
            )
        model = skops.io.load(path, trusted=list(cls.trusted_types))
        expected = load_class(cls.classes[task]["sklearn"])
        if type(model) is not expected:
            raise UntrustedModel(
                f"{path} holds a {type(model).__name__} where {cls.name} saves a {expected.__name__}: refusing to "
                "use it. Use an untouched copy of the run, or train it again."
            )
        return cls(task, backend, workflow, backend.device_estimator(model, cls.pair(task, backend)))


class UntrustedModel(DataError):
    """A saved scikit-learn model names a type its family never saves, or is of another class."""
