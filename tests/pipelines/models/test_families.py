"""One common test over every model family (fit, predict, save, load), the registry's contract, and a fourth
family added as one file (hist_gradient_boosting.py) plus one registration line."""

from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines import models
from pipelines.backend import transfers_handled_by
from pipelines.config import RunConfig
from pipelines.data.placement import OnDaskWorkers
from pipelines.data.split import Part
from pipelines.data.target import TARGET, TargetInfo
from pipelines.errors import ConfigError
from pipelines.features import Categorify, FillMissing, Standardize, Workflow
from pipelines.features.feature_set import FeatureSet
from pipelines.models.estimators import Estimator
from pipelines.training.handoff import hand_off
from tests.pipelines.models.hist_gradient_boosting import HistGradientBoosting


def _features(task: str, backend) -> FeatureSet:
    rng = np.random.default_rng(0)
    rows = 600
    frame = pd.DataFrame({"x": rng.normal(size=rows), "c": rng.choice(["a", "b", "c"], rows)})
    signal = frame["x"] + (frame["c"] == "b")
    target = (signal > 0.3).astype("float32") if task == "classification" else signal.astype("float32")
    frame[TARGET] = target
    workflow = Workflow([Categorify(["c"]), FillMissing(["x"], indicator=False), Standardize(["x"])])
    parts = {"train": frame.iloc[:400], "valid": frame.iloc[400:500], "test": frame.iloc[500:]}
    parts = {name: part.reset_index(drop=True) for name, part in parts.items()}
    workflow.fit(Part("train", parts["train"]))
    frames = {name: workflow.transform(part) for name, part in parts.items()}
    targets = {name: part[TARGET] for name, part in parts.items()}
    return FeatureSet(
        workflow=workflow,
        frames=frames,
        targets=targets,
        target=TargetInfo("y", task, [0, 1]),
        inputs={},
        counts={},
        notes=[],
    )


CASES = [(name, task) for name, family in models.FAMILIES.items() for task in family.tasks]


@pytest.mark.parametrize(("name", "task"), CASES)
def test_every_family_fits_predicts_and_reloads_the_same(name, task, cpu, tmp_path):
    features = _features(task, cpu)
    handoff = hand_off(features, cpu)
    config = RunConfig(task=task, epochs=2, models=[name] if models.FAMILIES[name].stage == "baselines" else [])
    stage, blocks = models.FAMILIES[name].stage, []
    with transfers_handled_by(lambda label: blocks.append(label) or contextlib.nullcontext()):
        fitted = models.fit_stage(stage, features, handoff, config, cpu, checkpoints=tmp_path / "checkpoints")[name]
    # a baseline's library fit is the one block whose copies are its model's (the residency ledger keeps them apart)
    assert len(blocks) == (1 if stage == "baselines" else 0), blocks
    primary = "auc" if task == "classification" else "r2"
    assert fitted.scores["test"][primary] > (0.8 if task == "classification" else 0.6), fitted.scores
    assert set(fitted.metrics()) == {"valid", "test", "fit_seconds"}
    fitted.model.save(tmp_path)
    written = {p.name for p in tmp_path.iterdir() if p.is_file()}
    assert written == {pattern.format(name=name) for pattern in models.FAMILIES[name].files}
    json.dumps(fitted.model.details())  # the manifest can hold it
    loaded = models.FAMILIES[name].load(tmp_path, task, cpu, features.workflow)
    test = models.Split(features.frames["test"])  # new rows: no target, no handoff yet
    before, after = fitted.model.predict(test), loaded.predict(test)
    assert before.shape == (len(features.frames["test"]),) and before.device == cpu.torch_device
    torch.testing.assert_close(after, before)


def test_names_follow_the_registry_order_per_task_and_stage():
    assert models.names("classification") == ["logistic_regression", "random_forest", "xgboost", "mlp"]
    assert models.names("regression", "baselines") == ["linear_regression", "random_forest", "xgboost"]
    assert models.names("regression", "train") == ["mlp"]


def test_an_unknown_model_is_refused_before_any_work():
    with pytest.raises(ConfigError, match="Unknown baseline 'linear_regression' for classification"):
        models.check(RunConfig(models=["linear_regression"]))
    with pytest.raises(ConfigError, match="Unknown model 'nope'"):
        models.family("nope")


@pytest.mark.parametrize("family", [f for f in models.FAMILIES.values() if issubclass(f, Estimator)])
def test_every_estimator_names_its_cuml_twin_by_the_same_class_name(family):
    """A model saved as scikit-learn is put back on the device through its cuML twin of the same name."""
    for pair in family.classes.values():
        assert pair["sklearn"].startswith("sklearn.") and pair["cuml"].startswith("cuml.")
        assert pair["sklearn"].rpartition(".")[2] == pair["cuml"].rpartition(".")[2]
        # and its Dask twin (cuML's multi-GPU estimator), fitted on a --cluster local-cuda run's workers
        assert pair["cuml.dask"].startswith("cuml.dask.")
        assert pair["cuml.dask"].rpartition(".")[2] == pair["cuml"].rpartition(".")[2]


def test_a_family_without_a_cuml_twin_is_refused_on_the_gpu_with_a_clear_error(cpu):
    class FakeGpu:
        name, estimator_family = "gpu", "cuml"

    with pytest.raises(ConfigError, match=r"hist_gradient_boosting has no cuml class.*--backend cpu"):
        HistGradientBoosting.pair("classification", FakeGpu())


@pytest.mark.slow
def test_a_fourth_family_trains_saves_and_scores_through_the_flow(monkeypatch, prefect_harness, tmp_path, cpu):
    from flows.train import train
    from pipelines.scoring import predict

    monkeypatch.setitem(models.FAMILIES, HistGradientBoosting.name, HistGradientBoosting)  # the one registration
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=800), "c": rng.choice(["a", "b", "c"], 800)})
    frame["y"] = ((frame["x"] + (frame["c"] == "b")) > 0.3).astype(int)
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = RunConfig(
        data=str(tmp_path / "t.csv"), target="y", epochs=1, output=str(tmp_path / "runs"), data_dir=str(tmp_path)
    )
    config.models, config.backend = ["hist_gradient_boosting"], "cpu"
    run_dir = Path(train(config, progress=False))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert list(metrics["models"]) == ["hist_gradient_boosting", "mlp"]
    assert metrics["models"]["hist_gradient_boosting"]["test"]["auc"] > 0.85
    assert (run_dir / "model" / "hist_gradient_boosting.skops").is_file()
    bundle = predict.open_bundle(run_dir)
    rows = predict.read_rows(bundle, tmp_path / "t.csv", cpu)
    scores = predict.score_rows(bundle, rows, cpu, "hist_gradient_boosting")
    assert scores.shape == (800,)


def test_asking_for_the_mlp_as_a_baseline_says_it_always_trains():
    with pytest.raises(ConfigError, match="'mlp' \\(it always trains"):
        models.check(RunConfig(models=["mlp"]))


def test_a_linear_model_fits_a_seeded_sample_beyond_its_row_bound_and_says_so(cpu, monkeypatch):
    from pipelines.models.linear import LogisticRegression

    monkeypatch.setattr(LogisticRegression, "fit_rows", 150)
    features = _features("classification", cpu)
    config = RunConfig(models=["logistic_regression"])
    fitted = models.fit_stage("baselines", features, hand_off(features, cpu), config, cpu)["logistic_regression"]
    assert any("seeded sample of 150 of the 400 training rows" in w for w in fitted.warnings), fitted.warnings
    assert fitted.scores["test"]["auc"] > 0.8


def test_scikit_learn_s_logistic_regression_has_a_smaller_row_bound_that_says_why(cpu, monkeypatch):
    from pipelines.models.linear import LogisticRegression

    monkeypatch.setattr(LogisticRegression, "sklearn_rows", 200)  # below fit_rows: the solver's bound applies
    features = _features("classification", cpu)
    config = RunConfig(models=["logistic_regression"])
    fitted = models.fit_stage("baselines", features, hand_off(features, cpu), config, cpu)["logistic_regression"]
    (note,) = [w for w in fitted.warnings if "seeded sample" in w]
    assert "seeded sample of 200 of the 400 training rows (scikit-learn's solver takes time" in note


def test_linear_models_read_numbers_then_one_hot_codes_in_one_float32_matrix(cpu):
    features = _features("classification", cpu)
    workflow, test = features.workflow, features.frames["test"].copy()
    model = models.FAMILIES["logistic_regression"]("classification", cpu, workflow)
    cardinality = workflow.cardinalities_["c"]
    test.loc[0, "c"] = cardinality  # a code outside the fitted values: no one-hot column is set
    matrix = model.design(test)
    assert isinstance(matrix, np.ndarray) and matrix.dtype == np.float32 and matrix.flags.c_contiguous
    numbers = test[workflow.numeric_].to_numpy(dtype="float32")
    expected = np.stack([test["c"].to_numpy() == k for k in range(cardinality)], axis=1).astype("float32")
    np.testing.assert_array_equal(matrix, np.concatenate([numbers, expected], axis=1))
    assert matrix[0, len(workflow.numeric_) :].sum() == 0 and (matrix[1:, len(workflow.numeric_) :].sum(1) == 1).all()


def _on_workers(features: FeatureSet, bounds: list[int]):
    """The training split's features and target as dask collections of partitions cut at `bounds`."""
    import dask.dataframe as dd

    from pipelines.features.feature_set import OnWorkers

    held = []
    for whole in (features.frames["train"], features.targets["train"]):
        pieces = [dd.from_pandas(whole.iloc[a:b], npartitions=1) for a, b in itertools.pairwise(bounds)]
        held.append(dd.concat(pieces))
    return OnWorkers(*held)


def test_the_linear_design_mapped_over_partitions_is_the_design_of_the_whole_frame(cpu):
    features = _features("classification", cpu)
    model = models.FAMILIES["logistic_regression"]("classification", cpu, features.workflow)
    held = _on_workers(features, [0, 150, 150, 400])  # uneven, and an empty partition
    x, y = model.design_partitions(held.frame, held.target, [150, 0, 250])
    assert x.chunks[0] == y.chunks[0] == (150, 250)  # the same blocks in both; the empty one left out
    np.testing.assert_array_equal(x.compute(), model.design(features.frames["train"]))
    np.testing.assert_array_equal(y.compute(), features.targets["train"].to_numpy())


class _DaskTwin:
    """A stand-in for cuML's Dask estimators (cuml.dask.*: fit on dask collections, get_combined_model) over
    scikit-learn, so that the plumbing around them runs on the CPU: what it was given is kept."""

    def __init__(self, client, **params):
        from sklearn.linear_model import LogisticRegression

        self.model, self.client = LogisticRegression(**params), client

    def fit(self, x, y):
        self.x, self.y = x, y
        assert x.chunks[0] == y.chunks[0]  # rows of X and y in the same blocks, as cuML requires
        self.model.fit(x.compute(), y.compute())

    def get_combined_model(self):
        return self.model


def test_an_estimator_with_a_dask_twin_fits_every_training_row_on_the_cluster(cpu, monkeypatch):
    from pipelines.models.linear import LogisticRegression

    twins = []

    def twin(self, classes, client, **params):
        twins.append(_DaskTwin(client, **params))
        return twins[-1]

    class Client:  # the run's Dask client: the estimator asks how many workers it has, and works on it
        def nthreads(self):
            return {"a": 1, "b": 1}

        def as_current(self):
            return contextlib.nullcontext()

    monkeypatch.setattr(type(cpu), "cluster_estimator", twin)
    monkeypatch.setattr(LogisticRegression, "fit_rows", 150)  # no sample on the cluster: every row is fitted
    features = _features("classification", cpu)
    features.on_workers = {"train": _on_workers(features, [0, 100, 100, 400])}
    options = models.FitOptions(placement=OnDaskWorkers(Client(), "256MiB"))
    family = LogisticRegression("classification", cpu, features.workflow)
    splits = {
        name: models.Split(features.frames[name], features.targets[name], data, features.on_workers.get(name))
        for name, data in hand_off(features, cpu).data.items()
    }
    fitted = models.fit_and_score(family, splits, options)
    assert len(twins) == 1 and twins[0].x.shape == (400, family.design(features.frames["valid"]).shape[1])
    assert family.estimator is twins[0].model and family.details() == {"dask_workers": 2}
    assert not any("seeded sample" in w for w in fitted.warnings), fitted.warnings
    assert fitted.scores["test"]["auc"] > 0.8


def test_without_a_dask_twin_an_estimator_fits_in_the_run_s_process_and_says_so(cpu):
    features = _features("classification", cpu)
    features.on_workers = {"train": _on_workers(features, [0, 200, 400])}

    class Client:
        def nthreads(self):
            return {"a": 1}

    config = RunConfig(models=["logistic_regression"])
    placement = OnDaskWorkers(Client(), "256MiB")
    fitted = models.fit_stage("baselines", features, hand_off(features, cpu), config, cpu, placement=placement)
    notes = fitted["logistic_regression"].warnings
    assert any("fitted in the run's process, not on the Dask cluster: sklearn has no Dask" in w for w in notes), notes
