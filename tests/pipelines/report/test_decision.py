"""The report's decision view: the baseline, the thresholds chosen on the validation split, the confusion matrix,
the cumulative gains and the checks' notes, computed (checked against scikit-learn and brute force) and shown in a
real run's metrics.json, report.md and report.html."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, log_loss, mean_squared_error

from pipelines.report import decision


def scored(rows: int = 3000, share: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Targets with `share` positives and scores that rank them better than chance."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < share).astype(np.float64)
    return y, 1 / (1 + np.exp(-(1.5 * y - 1 + rng.normal(size=rows))))


def test_the_threshold_maximises_f1_on_the_validation_split_and_is_applied_to_the_test_split():
    valid, test = scored(seed=1), scored(seed=2)
    cut = decision.choose_threshold(valid, test)
    candidates = np.unique(valid[1])
    brute = [f1_score(valid[0], valid[1] >= c) for c in candidates[::7]]
    assert cut.valid_f1 >= max(brute) - 1e-12
    assert cut.valid_f1 == pytest.approx(f1_score(valid[0], valid[1] >= cut.value))
    expected = confusion_matrix(test[0], test[1] >= cut.value, labels=[0, 1])
    assert (cut.confusion == expected).all()
    assert cut.f1 == pytest.approx(f1_score(test[0], test[1] >= cut.value))


def test_the_baseline_is_the_training_share_or_mean_as_a_constant_prediction():
    y = scored(share=0.3)[0]
    found = decision.baseline_scores("classification", 0.2, y)
    assert found["auc"] == 0.5
    assert found["accuracy"] == pytest.approx(1 - y.mean())  # p = 0.2 < 0.5: always the negative class
    assert found["logloss"] == pytest.approx(log_loss(y, np.full(len(y), 0.2)))
    target = np.random.default_rng(0).normal(3, 2, size=500)
    found = decision.baseline_scores("regression", 2.5, target)
    assert found["rmse"] == pytest.approx(mean_squared_error(target, np.full(500, 2.5)) ** 0.5)
    assert decision.baseline_name("classification", 0.7, ["no", "yes"]).startswith("always yes")


def test_cumulative_gains_count_the_positives_among_the_highest_scores():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1], dtype=np.float64)
    scores = np.arange(10, 0, -1, dtype=np.float64)  # the first row scores highest
    found = dict(decision.gains(y, scores, shares=(0.1, 0.3, 0.5, 1.0)))
    assert found == {0.1: pytest.approx(1 / 3), 0.3: pytest.approx(2 / 3), 0.5: pytest.approx(2 / 3), 1.0: 1.0}


def test_the_checks_name_a_shifted_split_and_a_miscalibrated_model_and_stay_quiet_otherwise():
    splits = {"train": {"mean": 0.242, "std": 0.4}, "valid": {"mean": 0.159, "std": 0.4}, "test": {"mean": 0.243}}
    notes = decision.shift_notes("classification", splits)
    assert len(notes) == 1 and "valid split's positive share is 15.9% against 24.2%" in notes[0]
    y, p = scored()
    calibrated = np.clip(np.where(y > 0, 0.9, 0.05), 0, 1)
    assert decision.calibration_error(y, calibrated) == pytest.approx(abs(0.9 - 1) * y.mean() + 0.05 * (1 - y.mean()))
    notes = decision.model_notes(
        "classification", y, {"high": np.clip(p + 0.3, 0, 1), "fair": calibrated * 0 + y.mean()}
    )
    assert len(notes) == 1 and notes[0].startswith("high is miscalibrated")
    target = np.random.default_rng(0).normal(size=400)
    notes = decision.model_notes("regression", target, {"biased": target - 1.0, "fair": target})
    assert len(notes) == 1 and notes[0].startswith("biased's test predictions are biased")


def test_a_run_records_the_baseline_and_thresholds_and_its_report_shows_the_decision_view(run_dir: Path):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    page, text = (run_dir / "report.html").read_text(), (run_dir / "report.md").read_text()
    baseline, best = metrics["trivial_baseline"], metrics["best_model"]
    assert set(baseline) == {"name", "valid", "test"}
    assert f"trivial baseline ({baseline['name']})" in text and "<h2>Decision</h2>" in page and "## Decision" in text
    assert f"{best} (best on validation) against the trivial baseline" in text
    if metrics["task"] == "regression":
        assert "thresholds" not in metrics and "mean residual (actual - predicted)" in page
        assert baseline["test"]["r2"] <= 0.01  # the training mean explains nothing new on the test split
        return
    assert baseline["test"]["auc"] == 0.5
    for model, score in metrics["models"].items():
        assert score["test"]["auc"] > 0.8, model  # x1 carries the signal: every model beats the baseline
        value = metrics["thresholds"][model]["value"]
        assert f"<td>{model}</td><td>{value:.4f}</td>" in page
    # the best model's confusion matrix covers every test row; the baseline's accuracy is the majority's share
    cells = re.search(rf"<th>{best} at [0-9.]+</th>.*?</table>", page, re.S).group(0)
    counts = [int(n.replace(",", "")) for n in re.findall(r"<td>([0-9,]+) \(", cells)]
    assert sum(counts) == metrics["rows"]["test"]
    negatives = (counts[0] + counts[1]) / sum(counts)
    assert baseline["test"]["accuracy"] == pytest.approx(max(negatives, 1 - negatives), abs=1e-9)
    assert "Cumulative gains (test split" in page or "Cumulative gains on the test split" in page
    assert 'alt="Cumulative gains on the test split"' in page


def test_the_drift_baseline_shows_every_profiled_column_as_the_bundle_keeps_it(run_dir: Path):
    profile = json.loads((run_dir / "model" / "profile.json").read_text())
    page = (run_dir / "report.html").read_text()
    section = page.split('<section id="profile">')[1].split("</section>")[0]
    assert f"from {profile['rows']:,} training rows" in section and "<details>" in section
    for column, spec in profile["columns"].items():
        assert re.search(rf"<tr><td>{re.escape(column)}</td><td>{spec['kind']}</td><td>[^<]+</td>", section), column
        assert f"<td>{spec['shares'][-1]:.1%}</td></tr>" in section
