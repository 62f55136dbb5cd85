"""Loading a saved scikit-learn model trusts only the types its family expects and checks its class: the
manifest's sha256 is one check (a manifest can be rewritten with the files it hashes), not the only one."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import models
from pipelines.config import RunConfig
from pipelines.training.handoff import hand_off
from tests.pipelines.models.test_families import _features


def _saved(name: str, task: str, cpu, folder: Path):
    features = _features(task, cpu)
    config = RunConfig(task=task, models=[name])
    fitted = models.fit_stage("baselines", features, hand_off(features, cpu), config, cpu)[name]
    fitted.model.save(folder)
    return features


def test_a_saved_scikit_learn_model_naming_an_unexpected_type_is_refused(cpu, tmp_path):
    """The bundle's hashes can be rewritten with its files: loading trusts only the types the family expects."""
    import os

    import skops.io

    from pipelines.errors import DataError

    features = _saved("logistic_regression", "classification", cpu, tmp_path)
    path = tmp_path / "logistic_regression.skops"
    model = skops.io.load(path)
    model.hook = os.system  # a function reference: skops would import and hand it over
    skops.io.dump(model, path)
    with pytest.raises(DataError, match=r"logistic_regression\.skops.*system.*refusing"):
        models.family("logistic_regression").load(tmp_path, "classification", cpu, features.workflow)


def test_a_model_file_of_another_family_is_refused(cpu, tmp_path):
    """A random forest saved under the logistic regression's name: its tree type is not expected there, and
    the model is not a LogisticRegression."""
    from pipelines.errors import DataError

    features = _saved("random_forest", "classification", cpu, tmp_path)
    (tmp_path / "random_forest.skops").rename(tmp_path / "logistic_regression.skops")
    with pytest.raises(DataError, match=r"sklearn\.tree\._tree\.Tree"):
        models.family("logistic_regression").load(tmp_path, "classification", cpu, features.workflow)
    from pipelines.models.forest import RandomForest

    monkeypatched = type(
        "Trusting", (models.family("logistic_regression"),), {"trusted_types": RandomForest.trusted_types}
    )
    with pytest.raises(DataError, match=r"RandomForestClassifier.*LogisticRegression"):
        monkeypatched.load(tmp_path, "classification", cpu, features.workflow)
