"""report.md and report.html of a real run on a CSV table (classification and regression), the page opened in
headless chromium: every section, figures that come from the stages' own predictions, nothing refitted or
re-read, a page that loads offline without errors and whose every figure decodes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from pipelines.models import FAMILIES
from pipelines.runs.record import write_run
from tests.browser import chromium, open_page
from tests.pipelines.report.run_on_table import MISSING_TARGET, ROWS, STAGES, draw, fit

pytestmark = pytest.mark.slow


def _html(run_dir: Path) -> str:
    return (run_dir / "report.html").read_text()


def _metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def test_report_html_is_written_beside_report_md_and_recorded_in_the_manifest(run_dir):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {"report.md", "report.html"} <= set(manifest["files"])


def test_report_html_is_self_contained(run_dir):
    page = _html(run_dir)
    assert not re.search(r"(src|href)=\"(?!data:|#)", page), "every figure embedded, no link outside the page"
    assert "<script" not in page and "<link" not in page and "http://" not in page and "https://" not in page
    sources = re.findall(r"<img [^>]*src=\"([^\"]{0,30})", page)
    assert len(sources) >= 6 and all(s.startswith("data:image/png;base64,") for s in sources)


def test_every_section_is_there_for_every_model(run_dir):
    page, metrics = _html(run_dir), _metrics(run_dir)
    task = metrics["task"]
    figures = ["ROC curve", "Precision-recall"] if task == "classification" else ["Residuals", "Predicted vs actual"]
    for heading in [
        "Test metrics",
        *figures,
        "Calibration",
        "learning curve",
        "Feature importance",
        "TreeSHAP",
        "permutation",
        "Seconds per stage",
        "Residency",
        "Data",
        "Notes",
    ]:
        assert heading in page, heading
    for model in metrics["models"]:
        assert model in page
    for stage in STAGES:
        assert f"<td>{stage}</td>" in page, stage


def test_the_figures_show_the_test_predictions_the_metrics_were_computed_from(run_dir):
    """Each curve's legend gives the metric recomputed (scikit-learn) from the predictions the stages kept: it equals
    metrics.json's test metric, so the figures show those predictions, on the test split, model by model."""
    page, metrics = _html(run_dir), _metrics(run_dir)
    name = "AUC" if metrics["task"] == "classification" else "RMSE"
    for model, scores in metrics["models"].items():
        shown = re.findall(rf"{re.escape(model)} \({name} ([0-9.]+)\)", page)
        assert shown, f"{model}: no {name} in the figure legends"
        assert float(shown[0]) == pytest.approx(scores["test"][name.lower()], abs=2e-4)


def test_data_summary_counts_rows_dropped_targets_class_balance_and_nulls(run_dir):
    page, metrics = _html(run_dir), _metrics(run_dir)
    frame = pd.read_csv(run_dir.parent.parent / "table.csv")
    kept = frame[frame["y"].notna()]
    assert f"<td>rows loaded</td><td>{ROWS:,}</td>" in page
    assert f"<td>dropped: missing target</td><td>{MISSING_TARGET:,}</td>" in page
    shares = {column: kept[column].isna().mean() for column in frame.columns}
    for column, share in shares.items():  # only the columns with nulls are listed, with their share
        listed = re.search(rf"<td>{column}</td><td>[0-9.]+%</td></tr>", page)
        assert (listed is not None) == (share > 0), column
        if share > 0:
            assert f"<td>{column}</td><td>{share:.1%}</td>" in page, column
    assert shares["x2"] > 0.05 and shares["x1"] == 0
    clean = sum(share == 0 for share in shares.values())
    assert f"({clean} of {len(shares)} columns have none and are not listed)" in page
    for split, rows in metrics["rows"].items():
        assert f"<td>{split}</td><td>{rows:,}</td>" in page
    if metrics["task"] == "classification":
        assert "positive share" in page and f"{kept['y'].mean():.1%}" in page
    else:
        assert "target mean" in page


def test_importance_ranks_the_strongest_feature_first(run_dir):
    """x1 carries most of the signal: first for the tree model's TreeSHAP and for the MLP's permutation."""
    text = (run_dir / "report.md").read_text()
    heading, description, table = r"### (\w+): (TreeSHAP|permutation)\n\n", r"[^|\n][^\n]*\n\n", r"\| feature[^\n]*\n"
    sections = re.findall(heading + description + table + r"\|[-| ]+\n\| (\w+) \|", text)
    assert {(method, top) for _, method, top in sections} == {("TreeSHAP", "x1"), ("permutation", "x1")}, sections
    assert {model for model, _, _ in sections} == {"xgboost", "mlp"}


def test_the_report_refits_nothing_and_reads_no_data(tmp_path, monkeypatch):
    """write_run draws its figures from what the stages computed: with the input gone and every family's fit
    refusing to run, the report is still written whole."""
    draw("classification", rows=800).to_csv(tmp_path / "table.csv", index=False)
    args = fit(tmp_path / "table.csv", "classification", tmp_path)
    (tmp_path / "table.csv").unlink()

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the report refitted a model")

    for family in FAMILIES.values():
        monkeypatch.setattr(family, "fit", refuse)
    run_dir = write_run(*args)
    assert "ROC curve" in _html(run_dir) and (run_dir / "report.md").exists()


def test_report_opens_in_a_headless_browser_without_errors_and_every_figure_renders(run_dir, tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium where apt-get can)")
    page = open_page(run_dir / "report.html")
    shots = Path(os.environ.get("DEVICEPIPE_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    (shots / f"report-{_metrics(run_dir)['task']}.png").write_bytes(page.screenshot)
    assert page.errors == []
    assert page.remote_requests == [], "the report must open offline"
    assert run_dir.name in page.title
    assert len(page.images) >= 6
    for image in page.images:
        assert image["decoded"] and image["naturalWidth"] > 0 and image["naturalHeight"] > 0, image
    assert page.screenshot.startswith(b"\x89PNG")


def test_the_browser_check_sees_a_broken_figure_and_a_console_error(tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium where apt-get can)")
    broken = '<img alt="x" src="data:image/png;base64,AAAA"><script>console.error("boom")</script>'
    (tmp_path / "page.html").write_text(f"<!doctype html><title>t</title>{broken}")
    page = open_page(tmp_path / "page.html")
    assert page.images[0]["naturalWidth"] == 0 and not page.images[0]["decoded"]
    assert any("boom" in error for error in page.errors)


def test_the_run_section_says_which_settings_inputs_code_and_versions_made_the_run(run_dir):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    section = (run_dir / "report.md").read_text().split("## Run\n")[1].split("## Test metrics")[0]
    config = manifest["config"]
    changed = section.split("| settings changed | ")[1].split(" |")[0]
    assert f"target = {config['target']}" in changed and "backend = cpu" in changed
    assert "epochs" not in changed and "seed" not in changed  # the defaults are not changes
    assert ("task = regression" in changed) == (config["task"] == "regression")
    for path, digest in manifest["inputs"].items():
        assert f"| input | {path} (sha256 {digest[:12]}) |" in section
    assert f"| commit | {manifest['git_commit'] or 'unknown'} |" in section
    assert f"torch {manifest['versions']['torch']}" in section and "| started | " in section
    assert manifest["prefect"] == {"flow_run": {"url": None}}  # written outside a flow: no flow run to name
    assert '<section id="run"><h2>Run</h2>' in _html(run_dir) and '<a href="#run">Run</a>' in _html(run_dir)
