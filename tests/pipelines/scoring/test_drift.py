"""Drift: the training profile and the population stability index of new rows and predictions against it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines.errors import ConfigError
from pipelines.scoring import drift


def _rows(n: int, seed: int, shift: float = 0.0, cities: tuple[float, ...] = (0.5, 0.3, 0.2), nulls: float = 0.05):
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < nulls] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "city": rng.choice(["paris", "rome", "oslo"], n, p=list(cities)),
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "flag": rng.random(n) < 0.3,
        }
    )


@pytest.fixture(scope="module")
def profile():
    train = _rows(20_000, 0)
    scores = torch.sigmoid(torch.from_numpy(np.nan_to_num(train["x"].to_numpy())).float())
    columns = drift.profile_frame(train, list(train.columns))
    return {"rows": len(train), "columns": columns, "predictions": {"m": drift.profile_scores(scores)}}


def test_psi_is_zero_for_equal_shares_and_known_for_a_known_move():
    assert drift.psi([0.5, 0.5], [0.5, 0.5]) == 0
    expected = (0.7 - 0.5) * math.log(0.7 / 0.5) + (0.3 - 0.5) * math.log(0.3 / 0.5)
    assert drift.psi([0.5, 0.5], [0.7, 0.3]) == pytest.approx(expected)
    assert drift.psi([0.0, 1.0], [0.0, 1.0]) == 0  # empty bins are floored, not divided by


def test_the_profile_bins_numbers_times_and_categories_with_a_null_bin(profile):
    x, city, when = (profile["columns"][c] for c in ("x", "city", "when"))
    assert x["kind"] == "numeric" and len(x["edges"]) == 9 and len(x["shares"]) == 11
    assert x["shares"][-1] == pytest.approx(0.05, abs=0.01) and sum(x["shares"]) == pytest.approx(1)
    assert all(s == pytest.approx(0.095, abs=0.01) for s in x["shares"][:-1])
    assert city["kind"] == "category" and city["values"] == ["paris", "rome", "oslo"]
    assert city["shares"][-2:] == [0, 0]  # no other value, no null
    assert when["kind"] == "datetime" and when["edges"][0].startswith("2024-")


def test_rows_from_the_training_distribution_raise_no_alert(profile):
    new = _rows(5_000, 1)
    scores = torch.sigmoid(torch.from_numpy(np.nan_to_num(new["x"].to_numpy())).float())
    report = drift.measure(profile, new, {"m": scores})
    assert report["moved"] == [] and report["alerts"] == []
    assert max(entry["psi"] for entry in report["columns"].values()) < 0.02


def test_shifted_rows_name_the_columns_that_moved_worst_first(profile):
    new = _rows(5_000, 2, shift=1.0, cities=(0.1, 0.3, 0.6), nulls=0.3).drop(columns=["flag"])
    scores = torch.sigmoid(torch.from_numpy(np.nan_to_num(new["x"].to_numpy())).float() + 2)
    report = drift.measure(profile, new, {"m": scores}, warn=0.1, alert=0.25)
    assert set(report["alerts"]) == {"x", "city", "prediction:m"}
    assert report["columns"]["when"]["level"] == "ok" and report["missing_columns"] == ["flag"]
    values = [{**report["columns"], "prediction:m": report["predictions"]["m"]}[n]["psi"] for n in report["moved"]]
    assert values == sorted(values, reverse=True)
    assert "3 alert(s)" in drift.summary(report) and "| x |" in drift.markdown(report)


def test_unseen_categories_count_as_other_and_thresholds_are_checked(profile):
    new = _rows(2_000, 3)
    new["city"] = "lima"
    report = drift.measure(profile, new, {}, warn=0.5, alert=5.0)
    assert report["columns"]["city"]["psi"] > 5 and report["alerts"] == ["city"]
    with pytest.raises(ConfigError, match="0 < --drift-warn <= --drift-alert"):
        drift.measure(profile, new, {}, warn=0.3, alert=0.2)
