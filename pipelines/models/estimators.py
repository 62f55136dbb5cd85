"""scikit-learn estimators and their cuML twins: one class per model, the pair and its parameters named once.

The backend instantiates the twin of its family (cuML with output_type="cupy" on the GPU, scikit-learn on the
CPU) from the same parameters. Estimators read the feature frame directly. Saved as skops (cuML models through
`as_sklearn`), loaded back onto the backend's device (`from_sklearn` on the GPU), never as plain pickle.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, ClassVar

import torch

from pipelines.backend import Backend, module_of
from pipelines.backend.base import load_class
from pipelines.datasets.base import sample_rows
from pipelines.errors import ConfigError
from pipelines.features.workflow import Workflow
from pipelines.models.base import FitOptions, ModelAdapter, Split, labels

FOREST = {"n_estimators": 100, "max_depth": 12, "max_features": 0.5, "max_samples": 0.5, "random_state": 0}
ONE_HOT_MAX = 64  # categorical codes with at most this many values reach linear models one-hot


class Estimator(ModelAdapter):
    """A scikit-learn estimator with an optional cuML twin. Subclasses set `classes` per task and `params`."""

    classes: ClassVar[dict[str, dict[str, str]]]  # task -> {"sklearn": "module.Class", "cuml": "module.Class"}
    params: ClassVar[dict[str, Any]] = {}  # taken by both twins
    family_params: ClassVar[dict[str, dict[str, Any]]] = {}  # "sklearn" | "cuml" -> what only that twin takes
    files = ("{name}.skops",)
    # Linear models read codes as numbers otherwise: they get the numeric columns (target encodings included)
    # and one column per value of each categorical column with at most ONE_HOT_MAX values.
    one_hot: ClassVar[bool] = False
    # Most training rows the estimator sees (a seeded sample beyond it, noted in the run): a bound on its memory.
    fit_rows: ClassVar[int | None] = None

    def __init__(self, task: str, backend: Backend, workflow: Workflow, estimator: Any = None):
        super().__init__(task, backend, workflow)
        self.estimator = estimator

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

    def fit(self, train: Split, valid: Split, options: FitOptions) -> None:
        params = {**self.params, **self.family_params.get(self.backend.estimator_family, {})}
        self.estimator = self.backend.estimator(self.pair(self.task, self.backend), **params)
        frame, target = train.frame, labels(train, self.task)
        if self.fit_rows is not None and len(frame) > self.fit_rows:
            warnings.warn(
                f"fitted on a seeded sample of {self.fit_rows:,} of the {len(frame):,} training rows (its memory "
                "grows with rows times one-hot columns)",
                stacklevel=2,
            )
            frame = sample_rows(frame.assign(__label=target), self.fit_rows / len(frame), options.seed)
            frame, target = frame.drop(columns=["__label"]), frame["__label"]
        self.estimator.fit(self.design(frame), target)

    def predict(self, split: Split) -> torch.Tensor:
        return self.backend.predict_scores(self.estimator, self.design(split.frame), self.task)

    def design(self, frame: Any) -> Any:
        """The columns this estimator reads: the feature frame, or for linear models numbers and one-hot codes.
        The one-hot columns come from the workflow's cardinalities, so every split gets the same columns."""
        if not self.one_hot:
            return frame
        workflow = self.workflow
        small = [c for c in workflow.categorical_ if workflow.cardinalities_[c] <= ONE_HOT_MAX]
        frames = module_of(frame)
        codes = [
            frames.DataFrame({f"{c}={k}": (frame[c] == k).astype("float32") for k in range(workflow.cardinalities_[c])})
            for c in small
        ]
        return frames.concat([frame[workflow.numeric_], *codes], axis=1)

    def save(self, folder: Path) -> None:
        import skops.io

        skops.io.dump(self.backend.portable_estimator(self.estimator), folder / f"{self.name}.skops")

    @classmethod
    def load(cls, folder: Path, task: str, backend: Backend, workflow: Workflow) -> Estimator:
        import skops.io

        path = folder / f"{cls.name}.skops"
        # The file's sha256 matched the run's manifest before loading, so the types it names are the ones saved.
        model = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
        return cls(task, backend, workflow, backend.device_estimator(model, cls.pair(task, backend)))


class LinearEstimator(Estimator):
    """A linear model: numbers and one-hot codes, never raw codes; a bounded sample of rows (see Estimator)."""

    one_hot = True
    fit_rows = 2_000_000


class LogisticRegression(LinearEstimator):
    name = "logistic_regression"
    tasks = ("classification",)
    classes = {
        "classification": {
            "sklearn": "sklearn.linear_model.LogisticRegression",
            "cuml": "cuml.linear_model.LogisticRegression",
        }
    }
    params = {"C": 1.0, "max_iter": 500}
    # Newton steps converge in a handful of iterations on ~200 standardised columns (lbfgs needs ~130: 6x slower).
    family_params = {"sklearn": {"solver": "newton-cholesky"}}


class LinearRegression(LinearEstimator):
    name = "linear_regression"
    tasks = ("regression",)
    classes = {"regression": {"sklearn": "sklearn.linear_model.Ridge", "cuml": "cuml.linear_model.Ridge"}}
    params = {"alpha": 1.0}


class RandomForest(Estimator):
    name = "random_forest"
    # About 45 s on 2 CPU cores for the default job, below XGBoost's AUC in a twentieth of the time; cuML fits it
    # in seconds. Asked for by name (--model random_forest) it runs on the CPU too.
    default_on = ("gpu",)
    classes = {
        "classification": {
            "sklearn": "sklearn.ensemble.RandomForestClassifier",
            "cuml": "cuml.ensemble.RandomForestClassifier",
        },
        "regression": {
            "sklearn": "sklearn.ensemble.RandomForestRegressor",
            "cuml": "cuml.ensemble.RandomForestRegressor",
        },
    }
    params = FOREST
