"""report.html: the run's report as one self-contained page that opens offline in any browser.

Figures (pipelines.report.figures) are embedded as base64 PNG data URLs; the style is inline; there is no script and
no link to anything outside the page. The sections and tables are report.md's (pipelines.report.markdown), with figures:
the cumulative gains (classification), ROC and precision-recall curves (classification) or residuals and predicted
vs actual (regression) for every model on the test split, calibration, each learning curve of two epochs or more,
feature importance, seconds per stage. The drift baseline's long table is folded (<details>: no script needed).
"""

from __future__ import annotations

import base64
import re
from html import escape, unescape
from pathlib import Path
from typing import Any

from pipelines.report import figures
from pipelines.report import markdown as report
from pipelines.report.data import ReportData
from pipelines.report.decision import gains_curve
from pipelines.report.decision_tables import decision_parts, profile_line, profile_table
from pipelines.report.residency import residency_notes, residency_tables

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 0 auto;
       max-width: 1180px; padding: 0 24px 48px; }
h1 { margin-bottom: 4px; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 36px; }
nav a { margin-right: 14px; } .sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child, table.text td { text-align: left; } th { background: #f4f4f6; }
tr.best td { font-weight: 600; background: #eef6ee; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
figure { margin: 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 13px; max-width: 640px; }
.columns { display: flex; flex-wrap: wrap; gap: 32px; align-items: flex-start; }
ul.watch li { color: #8a4b00; } details summary { cursor: pointer; color: #333; }
pre { background: #f4f4f6; padding: 10px; overflow-x: auto; }
"""


DRAWN = ("decision", "curves", "stages")  # the sections that show figures `draw` made


def table(header: list[str], rows: list[list[str]], best: str | None = None, text: bool = False) -> str:
    """An HTML table; the row whose first cell is `best` is highlighted; `text`: its cells are words, not numbers
    (left-aligned)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = ""
    for row in rows:
        marked = ' class="best"' if best is not None and row[0] == best else ""
        body += f"<tr{marked}>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
    kind = ' class="text"' if text else ""
    return f"<table{kind}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(png: bytes, alt: str, caption: str = "") -> str:
    source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    text = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{source}" alt="{escape(alt)}">{text}</figure>'


def metrics_section(data: ReportData) -> str:
    best = data.metrics["best_model"]
    note = f"<p>Best on the validation split (highlighted): <b>{escape(best)}</b>.</p>"
    return "<h2>Test metrics</h2>" + table(*report.test_metrics_table(data), best=best) + note


def decision_section(data: ReportData, drawn: dict[str, Any]) -> str:
    """The baseline comparison, the thresholds and the best model's confusion matrix, the cumulative gains (or the
    residuals' summary) and the checks' notes."""
    parts = ["<h2>Decision</h2>"]
    for kind, part in decision_parts(data):
        parts.append(f"<p>{escape(part)}</p>" if kind == "text" else table(*part))
    if drawn.get("gains"):
        parts.append(figure(drawn["gains"], "Cumulative gains on the test split"))
    if data.decision.notes:
        items = "".join(f"<li>{escape(note)}</li>" for note in data.decision.notes)
        parts.append(f"<p><b>Read with care</b></p><ul class='watch'>{items}</ul>")
    return "".join(parts)


def profile_section(data: ReportData) -> str:
    """The training profile that scoring measures drift against, folded (one row per profiled column)."""
    found = profile_table(data)
    if found is None:
        return "<h2>Drift baseline</h2><p>Not recorded.</p>"
    line = escape(profile_line(data).replace("`", ""))
    summary = f"<summary>The training profile of {len(found[1])} columns</summary>"
    return f"<h2>Drift baseline</h2><p>{line}</p><details>{summary}{table(*found, text=True)}</details>"


def draw(data: ReportData) -> dict[str, Any]:
    """Every figure that needs no importance, drawn once: the curves on the test split, each learning curve and
    the seconds per stage (a run draws them while its importances are computed)."""
    y, predictions, labels = data.y_test, data.predictions, data.curve_labels
    if data.task == "classification":
        curves = [
            ("ROC curve", figures.roc(y, predictions, labels)),
            ("Precision-recall", figures.precision_recall(y, predictions, labels)),
        ]
    else:
        curves = [
            ("Residuals", figures.residuals(y, predictions, labels)),
            ("Predicted vs actual", figures.predicted_vs_actual(y, predictions, labels)),
        ]
    curves.append(("Calibration", figures.calibration(data.task, y, predictions, labels)))
    found = {name: gains_curve(y, p) for name, p in predictions.items()} if data.task == "classification" else {}
    return {
        "curves": curves,
        "gains": figures.gains(y, found, labels) if found else None,
        "learning": {
            name: figures.learning_curve(name, history) for name, history in data.histories.items() if len(history) > 1
        },
        "stages": figures.bars("Seconds per stage", data.seconds, "seconds", ordered=True),
    }


def curves_section(data: ReportData, drawn: dict[str, Any]) -> str:
    caption = report.curves_line(data)
    parts = [f"<div><h3>{escape(title)}</h3>" + figure(png, title) + "</div>" for title, png in drawn["curves"]]
    curves = f"<h2>Curves on the test split</h2><p>{escape(caption)}</p><div class='figures'>" + "".join(parts)
    curves += "</div>"
    for name, history in data.histories.items():
        curves += f"<h3>{escape(name)} learning curve</h3><p>{escape(report.learning_line(history))}</p>"
        if name in drawn["learning"]:
            curves += figure(drawn["learning"][name], f"{name} learning curve")
        curves += table(*report.history_table(history))
    return curves


def importance_section(data: ReportData) -> str:
    parts = ["<h2>Feature importance</h2>"]
    if not data.importances:
        parts.append("<p>No model of this run gives an importance.</p>")
    for found in data.importances:
        title = f"{found.model}: {found.method}"
        png = figures.bars(title, found.values, found.axis_label(data.task), top=report.IMPORTANCE_TOP)
        parts.append(f"<h3>{escape(title)}</h3><p class='sub'>{escape(found.describe(data.task))}</p>")
        parts.append("<div class='columns'>" + figure(png, title) + table(*report.importance_table(found.values)))
        parts.append("</div>")
    return "".join(parts)


def stages_section(data: ReportData, drawn: dict[str, Any]) -> str:
    chart, numbers = figure(drawn["stages"], "Seconds per stage"), table(*report.seconds_table(data))
    return f"<h2>Seconds per stage</h2><div class='columns'>{chart}{numbers}</div>"


def run_section(data: ReportData) -> str:
    about = report.run_table(data)
    if about is None:
        return "<h2>Run</h2><p>Not recorded.</p>"
    return "<h2>Run</h2>" + table(*about, text=True)


def data_section(data: ReportData) -> str:
    parts = [table(*report.count_table(data))]
    if line := report.classes_line(data):
        parts.append(f"<p>{escape(line.replace('`', ''))}</p>")
    parts.append(table(*report.split_table(data)))
    left = "<div>" + "".join(parts) + "</div>"
    nulls, line = report.null_table(data), f"<p>{escape(report.nulls_line(data))}</p>"
    right = "<div>" + line + ("" if nulls is None else table(*nulls)) + "</div>"
    return "<h2>Data</h2><div class='columns'>" + left + right + "</div>"


def residency_section(data: ReportData) -> str:
    if data.residency is None:
        return "<h2>Residency</h2><p>Not recorded.</p>"
    notes = "".join(f"<li>{escape(line.replace('**', ''))}</li>" for line in residency_notes(data.residency))
    tables = "".join(table(*found) for found in residency_tables(data.residency))
    return "<h2>Residency</h2><ul>" + notes + "</ul>" + tables


def notes_section(data: ReportData) -> str:
    items = "".join(f"<li>{escape(note)}</li>" for note in data.notes) or "<li>none</li>"
    return f"<h2>Notes</h2><ul>{items}</ul>"


def page(data: ReportData, drawn: dict[str, Any] | None = None) -> str:
    """The whole page; `drawn`: the figures `draw` made, if it was called already."""
    drawn = draw(data) if drawn is None else drawn
    sections = {
        "run": ("Run", run_section),
        "metrics": ("Metrics", metrics_section),
        "decision": ("Decision", decision_section),
        "curves": ("Curves", curves_section),
        "importance": ("Importance", importance_section),
        "stages": ("Stages", stages_section),
        "data": ("Data", data_section),
        "profile": ("Drift baseline", profile_section),
        "residency": ("Residency", residency_section),
        "notes": ("Notes", notes_section),
    }
    nav = "".join(f'<a href="#{key}">{label}</a>' for key, (label, _) in sections.items())
    body = "".join(
        f'<section id="{key}">{build(data, drawn) if key in DRAWN else build(data)}</section>'
        for key, (_, build) in sections.items()
    )
    subtitle = escape(report.task_line(data.metrics).replace("`", ""))
    heading = f"<h1>Run {escape(data.run)}</h1><p class='sub'>{subtitle}</p><nav>{nav}</nav>"
    return document(f"devicepipe run {data.run}", heading + body)


def document(title: str, body: str) -> str:
    """A whole self-contained page: `body` (HTML) under `title`, in the reports' style."""
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
        f"<body>{body}</body></html>\n"
    )


def figures_in(page: Path | str) -> dict[str, bytes]:
    """The figures of a report.html, PNG bytes by their title (each image's alt text: "ROC curve", "xgboost:
    TreeSHAP", "mlp learning curve", ...): to show a run's figures where its page is not opened, as in a notebook."""
    found = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)"', Path(page).read_text())
    return {unescape(alt): base64.b64decode(data) for data, alt in found}
