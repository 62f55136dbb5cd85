"""Tuning: trials fit on train and are scored on valid only; the best settings are scored on test once; a study
continues where it stopped and refuses other features; the families' hooks (settings, per-step reports) work."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pandas as pd
import pytest
import torch

from pipelines import models, tuning
from pipelines.config import RunConfig, describe_data
from pipelines.errors import ConfigError
from pipelines.models import FitOptions, fit_and_score
from pipelines.models.tuned import TUNE_LATEST, tuned_settings
from pipelines.training.network import embedding_dim
from pipelines.tuning import objective as objective_module
from pipelines.tuning import search as search_module
from tests.browser import chromium, open_page


def _reading(module, monkeypatch) -> list[tuple[str, ...]]:
    """The splits each fit_and_score call of `module` was given."""
    seen: list[tuple[str, ...]] = []
    real = module.fit_and_score

    def spy(model, splits, options, *args, **kwargs):
        seen.append(tuple(splits))
        return real(model, splits, options, *args, **kwargs)

    monkeypatch.setattr(module, "fit_and_score", spy)
    return seen


def test_trials_read_train_and_valid_only_and_test_is_read_once_per_family(prepared, cpu, tmp_path, monkeypatch):
    features, handoff = prepared
    in_trials, in_the_end = _reading(objective_module, monkeypatch), _reading(search_module, monkeypatch)
    released: list[bool] = []
    monkeypatch.setattr(type(cpu), "release_device_memory", lambda self: released.append(True))
    config = RunConfig(task="classification", epochs=2)
    request = tuning.TuneRequest(families=["xgboost", "logistic_regression"], trials=4, study="s")
    lines: list[str] = []
    best = tuning.tune(features, handoff, config, cpu, request, tmp_path, say=lines.append)
    assert in_trials == [("train", "valid")] * 8
    assert in_the_end == [("train", "valid", "test")] * 2
    assert len(released) == 8  # each trial's device memory given back before the next
    written = json.loads((tmp_path / tuning.BEST).read_text())
    assert written == json.loads(json.dumps(best)) and written["metric"] == "auc" and written["direction"] == "maximize"
    for name in ("xgboost", "logistic_regression"):
        entry = written["families"][name]
        assert set(entry["settings"]) <= set(models.FAMILIES[name].defaults("classification"))
        assert 0.5 < entry["test"]["auc"] <= 1 and entry["trials"]["complete"] + entry["trials"]["pruned"] == 4
    trials = pd.read_csv(tmp_path / tuning.TRIALS)
    assert len(trials) == 8 and set(trials["family"]) == {"xgboost", "logistic_regression"}
    assert {"trial", "state", "value", "seconds", "pruned_at", "params_C", "params_max_depth"} <= set(trials.columns)
    assert sum(line.startswith("xgboost trial ") for line in lines) == 4
    assert lines[1].startswith("xgboost trial 0 (the defaults): complete")
    assert written["families"]["xgboost"]["valid_with_defaults"] == pytest.approx(
        trials[trials["defaults"]]["value"].iloc[0]
    )


def test_a_study_goes_on_where_it_stopped_and_refuses_other_features(prepared, cpu, tmp_path):
    features, handoff = prepared
    config = RunConfig(task="classification", epochs=2)
    tuning.tune(features, handoff, config, cpu, tuning.TuneRequest(families=["xgboost"], trials=2), tmp_path)
    lines: list[str] = []
    request = tuning.TuneRequest(families=["xgboost"], trials=3)
    tuning.tune(features, handoff, config, cpu, request, tmp_path, say=lines.append)
    assert lines[0] == "xgboost: 1 trial(s) to run (2 done before)"
    assert len(pd.read_csv(tmp_path / tuning.TRIALS)) == 3
    features.cache = {"key": "features-b"}
    with pytest.raises(ConfigError, match=r"study 'tune.xgboost' .* was made on other data or features"):
        tuning.tune(features, handoff, config, cpu, request, tmp_path)


@pytest.mark.parametrize(("name", "steps"), [("xgboost", None), ("mlp", 3)])
def test_a_fit_reports_each_step_and_stops_when_the_report_raises(prepared, cpu, name, steps):
    features, handoff = prepared
    splits = tuning.trial_splits(features, handoff)
    reported: list[tuple[int, float]] = []
    options = FitOptions(epochs=3, on_step=lambda step, value: reported.append((step, value)))
    fit_and_score(models.FAMILIES[name]("classification", cpu, features.workflow), splits, options, scored=("valid",))
    assert [step for step, _ in reported] == list(range(steps or len(reported))) and len(reported) >= 3
    assert all(0.0 <= value <= 1.0 for _, value in reported)  # the validation AUC

    def stop(step: int, value: float) -> None:
        if step == 1:
            raise RuntimeError("pruned")

    with pytest.raises(RuntimeError, match="pruned"):
        models.FAMILIES[name]("classification", cpu, features.workflow).fit(
            splits["train"], splits["valid"], FitOptions(epochs=3, on_step=stop)
        )


def test_settings_reach_the_library_and_unknown_ones_are_refused(prepared, cpu, tmp_path):
    features, handoff = prepared
    splits = tuning.trial_splits(features, handoff)
    model = models.FAMILIES["xgboost"]("classification", cpu, features.workflow)
    model.fit(splits["train"], splits["valid"], FitOptions(settings={"max_depth": 2, "learning_rate": 0.2}))
    assert model.model.get_params()["max_depth"] == 2 and model.model.get_params()["learning_rate"] == 0.2
    mlp = models.FAMILIES["mlp"]("classification", cpu, features.workflow)
    small = {"hidden": [32], "dropout": 0.0, "embedding_scale": 0.5, "embedding_max": 2}
    mlp.fit(splits["train"], splits["valid"], FitOptions(epochs=1, settings=small))
    assert mlp.result.config.hidden == (32,) and mlp.result.config.dropout == 0.0
    cardinalities = mlp.cardinalities(features.workflow)
    sizes = [embedding.embedding_dim for embedding in mlp.result.model.embeddings]
    assert sizes == [embedding_dim(c, 0.5, 2) for c in cardinalities] and max(sizes) <= 2
    assert sizes != [embedding_dim(c) for c in cardinalities]  # not the default sizes
    mlp.save(tmp_path)
    loaded = models.FAMILIES["mlp"].load(tmp_path, "classification", cpu, features.workflow)
    assert [embedding.embedding_dim for embedding in loaded.result.model.embeddings] == sizes
    assert torch.equal(loaded.predict(splits["valid"]), mlp.predict(splits["valid"]))
    linear = models.FAMILIES["logistic_regression"]("classification", cpu, features.workflow)
    linear.fit(splits["train"], splits["valid"], FitOptions(settings={"C": 0.5, "one_hot_max": 0}))
    assert linear.estimator.get_params()["C"] == 0.5
    assert linear.design(splits["valid"].frame).shape[1] == len(features.workflow.numeric_)  # nothing one-hot
    wider = models.FAMILIES["logistic_regression"]("classification", cpu, features.workflow)
    wider.fit(splits["train"], splits["valid"], FitOptions())  # the default limit: each code of "c" one column
    width = len(features.workflow.numeric_) + features.workflow.cardinalities_["c"]
    assert wider.design(splits["valid"].frame).shape[1] == width
    linear.save(tmp_path)
    back = models.FAMILIES["logistic_regression"].load(tmp_path, "classification", cpu, features.workflow)
    assert back.one_hot_max == 0 and torch.equal(back.predict(splits["valid"]), linear.predict(splits["valid"]))
    with pytest.raises(ConfigError, match=r"xgboost has no setting 'depth'; it takes \["):
        model.fit(splits["train"], splits["valid"], FitOptions(settings={"depth": 2}))


@pytest.mark.parametrize("name", ["logistic_regression", "linear_regression", "random_forest", "xgboost", "mlp"])
def test_every_family_draws_only_settings_it_takes(name):
    import optuna

    family = models.FAMILIES[name]
    task = family.tasks[0]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        drawn = family.search_space(study.ask(), task)
        assert drawn and family.check_settings(task, drawn) == drawn
    study.enqueue_trial(family.default_draw(task))  # a study's first trial: the defaults, drawn from the space
    drawn, defaults = family.search_space(study.ask(), task), family.defaults(task)
    assert drawn.pop("reg_alpha", 0.0) <= 1e-8 and drawn == {k: v for k, v in defaults.items() if k != "reg_alpha"}


def test_the_tune_report_opens_offline_in_a_headless_browser_with_every_figure(prepared, cpu, tmp_path):
    features, handoff = prepared
    request = tuning.TuneRequest(families=["xgboost"], trials=8, study="r")
    tuning.tune(features, handoff, RunConfig(task="classification"), cpu, request, tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "<h2 id='xgboost'>xgboost</h2>" in html and "devicepipe run --params" in html and "<script" not in html
    assert html.count("<img ") == 3  # the history, the settings' importances, the parallel coordinates
    if chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium where apt-get can)")
    page = open_page(tmp_path / "report.html")
    assert page.errors == [] and page.remote_requests == [] and page.title == "devicepipe tune r"
    assert len(page.images) == 3 and all(i["decoded"] and i["naturalWidth"] > 0 for i in page.images), page.images


def test_tune_latest_points_at_the_last_tune_and_a_run_of_other_data_keeps_its_defaults(prepared, cpu, tmp_path):
    features, handoff = prepared
    config = RunConfig(task="classification", epochs=2, data="t.csv", target="y")
    latest = str(tmp_path / TUNE_LATEST)
    found = tuned_settings(latest, "classification", models.FAMILIES, describe_data(config))  # no tune yet
    note = f"xgboost trained with its default settings: {latest} names no finished tune yet"
    assert found["xgboost"] == {"settings": {}, "note": note}
    with pytest.raises(ConfigError, match=r"no best_params\.json there"):  # a folder named by hand must exist
        tuned_settings(str(tmp_path / "tune-x"), "classification", models.FAMILIES, describe_data(config))
    request = tuning.study_for(tuning.TuneRequest(families=["xgboost"], trials=2, study="w", per_data=True), features)
    assert request.study == "w-features" and not request.per_data  # the fingerprint's first 8 characters
    folder = tuning.tune_folder(tmp_path, request.study)
    folder.mkdir()
    best = tuning.tune(features, handoff, config, cpu, request, folder)
    assert (tmp_path / TUNE_LATEST).is_symlink() and os.readlink(tmp_path / TUNE_LATEST) == "tune-w-features"
    found = tuned_settings(latest, "classification", models.FAMILIES, describe_data(config))
    assert found["xgboost"]["settings"] == best["families"]["xgboost"]["settings"] and set(found) == {"xgboost"}
    other = replace(config, sample=0.5)
    found = tuned_settings(latest, "classification", models.FAMILIES, describe_data(other))
    assert (
        found["xgboost"]["settings"] == {}
        and "was made on other data (dataset table, data t.csv" in (found["xgboost"]["note"])
    )
