"""`predict --threshold`: 0.5 unless told, a probability of the user's, or the cut the run chose on validation;
anything else is exit 2 (ConfigError) naming what was found and what to give."""

from __future__ import annotations

import pytest

from pipelines.errors import ConfigError
from pipelines.scoring.threshold import Cut, resolve, said

CHOSEN = {"xgboost": {"value": 0.2807, "chosen_by": "max F1 on valid", "valid_f1": 0.48}}
METRICS = {"task": "classification", "models": {"xgboost": {}, "mlp": {}}, "thresholds": CHOSEN}


def test_the_default_a_given_probability_and_the_chosen_cut():
    assert resolve(None, METRICS, "xgboost") == Cut(0.5, "default")
    assert resolve("0.3", METRICS, "xgboost") == Cut(0.3, "given")
    assert resolve(0.7, METRICS, "xgboost") == Cut(0.7, "given")  # a number, as a Prefect parameter can be
    assert resolve("chosen", METRICS, "xgboost") == Cut(0.2807, "chosen")
    assert resolve(" Chosen ", METRICS, "xgboost") == Cut(0.2807, "chosen")


@pytest.mark.parametrize("given", ["abc", "0", "1", "1.5", "-0.2", "nan", "inf", ""])
def test_what_is_no_probability_is_refused(given):
    with pytest.raises(ConfigError, match=r"between 0 and 1 \(exclusive\), or 'chosen'") as raised:
        resolve(given, METRICS, "xgboost")
    assert f"found {given!r}" in str(raised.value)


def test_chosen_where_the_run_chose_none():
    with pytest.raises(ConfigError, match="records no chosen threshold for mlp"):
        resolve("chosen", METRICS, "mlp")
    older = {key: value for key, value in METRICS.items() if key != "thresholds"}  # a run made before thresholds
    with pytest.raises(ConfigError, match="records no chosen threshold for xgboost"):
        resolve("chosen", older, "xgboost")
    with pytest.raises(ConfigError, match="Model 'forest' is not in the run: it has xgboost, mlp"):
        resolve("chosen", METRICS, "forest")


def test_a_regression_run_takes_no_threshold():
    regression = {"task": "regression", "models": {"xgboost": {}}}
    assert resolve(None, regression, "xgboost") is None
    assert said(None, regression, "xgboost", []) == []
    with pytest.raises(ConfigError, match="regression, whose predictions are values"):
        resolve("0.3", regression, "xgboost")


def test_what_the_command_says():
    assert said(Cut(0.5, "default"), METRICS, "xgboost", ["on time", "delayed"]) == [
        "prediction: delayed where probability >= 0.5 (the default)",
        "note: the run chose 0.2807 for xgboost on validation (best F1); --threshold chosen uses it",
    ]
    assert said(Cut(0.2807, "chosen"), METRICS, "xgboost", [0, 1]) == [
        "prediction: 1 where probability >= 0.2807 (chosen for xgboost on validation)"
    ]
    assert said(Cut(0.3, "given"), METRICS, "mlp", [0, 1]) == ["prediction: 1 where probability >= 0.3 (--threshold)"]
