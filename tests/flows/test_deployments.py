"""prefect.yaml declares the same deployments that `devicepipe serve` serves."""

from __future__ import annotations

import importlib
from datetime import timedelta

import yaml

from flows import deployments
from tests.conftest import ROOT


def test_prefect_yaml_matches_the_served_deployments():
    declared = {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    served = {d.name: d for d in deployments.build()}
    assert set(declared) == set(served) == {"train", "score", "tune"}
    for name, spec in declared.items():
        module, _, attribute = spec["entrypoint"].partition(":")
        flow = getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), attribute)
        assert flow.name == served[name].flow_name == name
        assert spec["parameters"] == served[name].parameters
        assert set(spec["tags"]) == set(served[name].tags)
        (declared_schedule,) = spec["schedules"]
        (served_schedule,) = served[name].schedules
        if "cron" in declared_schedule:
            assert served_schedule.schedule.cron == declared_schedule["cron"]
        else:
            assert served_schedule.schedule.interval == timedelta(seconds=declared_schedule["interval"])


def test_trigger_names_map_to_flow_and_deployment():
    assert deployments.NAMES == {"train": "train/train", "score": "score/score", "tune": "tune/tune"}


def test_served_train_settings_reach_the_flow_as_one_run_config():
    from flows.train import train
    from pipelines.config import RunConfig

    asked = {"sample": 0.1, "epochs": 2, "models": ["xgboost"]}
    (served, _, _) = deployments.build(train_parameters=asked)
    assert served.parameters == {"progress": False, "config": {**asked, "params": "runs/tune-latest"}}
    config = train.validate_parameters(served.parameters)["config"]
    assert config == RunConfig(sample=0.1, epochs=2, models=["xgboost"], params="runs/tune-latest")
    (untuned, _) = deployments.build(train_parameters=asked, tune_cron=None)  # no tune: the defaults
    assert untuned.parameters == {"progress": False, "config": asked}
    own = train.validate_parameters({"config": {"data": "t.csv", "target": "y"}})["config"]
    assert own.dataset == "table"


def test_serve_s_options_default_to_the_deployments_defaults():
    """`devicepipe serve` with no options serves what `deployments.build()` builds with none."""
    import inspect

    from flows.cli.serve import serve

    options = {name: p.default for name, p in inspect.signature(serve).parameters.items()}
    built = inspect.signature(deployments.build).parameters
    for name in ("train_cron", "score_interval", "score_data"):
        assert options[name] == built[name].default, name
    assert options["limit"] == inspect.signature(deployments.serve_all).parameters["limit"].default


def test_the_tune_deployment_searches_the_train_deployment_s_data_a_study_per_data():
    from flows.tune import tune
    from pipelines.config import RunConfig
    from pipelines.tuning import TuneRequest

    asked = {"sample": 0.1, "epochs": 2, "models": ["logistic_regression"], "output": "out"}
    (train, _, tuned) = deployments.build(train_parameters=asked, tune_request={"trials": 7})
    assert train.parameters["config"]["params"] == "out/tune-latest"  # where the tune below points when it ends
    assert tuned.schedules[0].schedule.cron == "0 3 * * 0"
    parameters = tune.validate_parameters(tuned.parameters)
    assert parameters["config"] == RunConfig(sample=0.1, epochs=2, output="out")
    assert parameters["request"] == TuneRequest(families=["xgboost"], trials=7, study="weekly", per_data=True)
