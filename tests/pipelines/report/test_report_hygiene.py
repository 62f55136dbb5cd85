"""The report reads as a summary, not a log: a one-epoch learning curve says so instead of drawing single dots,
byte counts in human units, only the columns with nulls listed, the training loss beside the validation metrics."""

from __future__ import annotations

import numpy as np

from pipelines.report import html, markdown
from pipelines.report.data import ReportData


def report(epochs: int, null_share: dict[str, float] | None) -> ReportData:
    """A small classification run's report values, built by hand: two models, `epochs` of learning curve."""
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(np.float64)
    predictions = {name: np.clip(0.3 + 0.4 * (y - 0.3) + rng.normal(0, 0.2, 400), 0, 1) for name in ("a", "b")}
    scores = {"test": {"auc": 0.7, "logloss": 0.5, "accuracy": 0.75}, "valid": {"auc": 0.7}, "fit_seconds": 1.0}
    history = [
        {"epoch": e, "seconds": 0.5, "rows_per_second": 131888.1153, "train_loss": 0.6 - e / 10, "valid_auc": 0.7}
        for e in range(epochs)
    ]
    splits = {name: {"rows": 400, "mean": 0.3, "std": 0.46} for name in ("train", "valid", "test")}
    summary = {"counts": {"rows loaded": 1200}, "splits": splits, "rows": 1200, "mean": 0.3, "classes": ["0", "1"]}
    residency = {"enabled": False, "handoff_zero_copy": True, "device_to_device_assembly_bytes": 10_082_072}
    return ReportData(
        run="r",
        metrics={
            "task": "classification",
            "target": "y",
            "backend": "cpu",
            "best_model": "a",
            "rows": {},
            "models": {"a": scores, "b": scores},
        },
        notes=[],
        seconds={"load": 1.0},
        residency=residency,
        y_test=y,
        predictions=predictions,
        y_valid=y,
        valid_predictions=predictions,
        histories={"mlp": history},
        data={**summary, "null_share": null_share},
    )


def test_a_one_epoch_learning_curve_says_so_and_draws_no_dots():
    one, three = report(1, None), report(3, None)
    assert html.draw(one)["learning"] == {} and set(html.draw(three)["learning"]) == {"mlp"}
    assert "One epoch only: no curve to draw" in markdown.markdown(one)
    assert "One epoch only" not in markdown.markdown(three)
    page = html.page(one)
    assert 'alt="mlp learning curve"' not in page and "One epoch only" in page


def test_the_learning_curve_table_shows_the_training_loss_and_rows_per_second_for_people():
    text = markdown.markdown(report(2, None))
    assert "| epoch | seconds | rows/s | train loss | valid auc |" in text
    assert "| 0 | 0.50 | 131,888 | 0.6000 | 0.7000 |" in text


def test_bytes_are_shown_in_human_units():
    text = markdown.markdown(report(2, None))
    assert "device-to-device assembly of the features: 9.6 MiB" in text and "10082072" not in text


def test_only_the_columns_with_nulls_are_listed():
    text = markdown.markdown(report(2, {"a": 0.0, "b": 0.25, "c": 0.0004, "d": 0.0}))
    assert "(2 of 4 columns have none and are not listed)" in text
    assert "| b | 25.0% |" in text and "| c | 0.04% |" in text and "| a | 0.0% |" not in text
    assert "None of the 2 loaded columns has nulls." in markdown.markdown(report(2, {"a": 0.0, "d": 0.0}))
    assert "Nulls were not counted." in markdown.markdown(report(2, None))
