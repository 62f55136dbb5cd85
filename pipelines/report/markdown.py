"""The run's human-readable summary: report.md (also the Prefect artifact of a train run) and report.html.

Both are drawn from one `ReportData` (pipelines.report.data: host values gathered after training) and show the
same sections: the run, test metrics beside the baseline's, the decision view (pipelines.report.decision_tables),
the data summary, the drift baseline, feature importance, seconds per stage, each learning curve, the residency
ledger (pipelines.report.residency) and the notes. report.md gives them as tables;
report.html (pipelines.report.html) adds the figures (pipelines.report.figures), embedded in the page.
pipelines.runs.record writes both.
"""

from __future__ import annotations

from typing import Any

from pipelines.evaluate import METRICS, PRIMARY
from pipelines.report.data import ReportData, Table
from pipelines.report.decision_tables import baseline_row, decision_parts, profile_line, profile_table
from pipelines.report.residency import residency_notes, residency_tables

IMPORTANCE_TOP = 15


def metrics_table(metrics: dict[str, Any]) -> str:
    """A fixed-width table of every model's test metrics, the best model marked, the baseline's (when recorded)
    last; 80 columns wide."""
    names = list(METRICS[metrics["task"]])
    header = f"{'model':<24}" + "".join(f"{'test ' + n:>15}" for n in names) + f"{'fit s':>8}"
    lines = [header, "-" * len(header)]
    for model, score in metrics["models"].items():
        mark = " *" if model == metrics["best_model"] else ""
        cells = "".join(f"{score['test'][n]:>15.4f}" for n in names)
        lines.append(f"{model + mark:<24}{cells}{score['fit_seconds']:>8.1f}")
    if baseline := metrics.get("trivial_baseline"):
        lines.append(f"{'trivial baseline':<24}" + "".join(f"{baseline['test'][n]:>15.4f}" for n in names))
        lines.append(f"  trivial baseline: {baseline['name']}")
    rows = ", ".join(f"{split} {count:,}" for split, count in metrics["rows"].items())
    lines.append(f"* best on the validation split; backend {metrics['backend']}; rows: {rows}")
    return "\n".join(lines)


def best_line(metrics: dict[str, Any]) -> str:
    """The best model's test metric beside the trivial baseline's, in one line (a flow run's log)."""
    best, metric = metrics["best_model"], PRIMARY[metrics["task"]]
    line = f"best on validation: {best}, test {metric} {metrics['models'][best]['test'][metric]:.4f}"
    if baseline := metrics.get("trivial_baseline"):
        line += f" (trivial baseline {baseline['test'][metric]:.4f})"
    return line


def task_line(metrics: dict[str, Any]) -> str:
    return f"{metrics['task']} of `{metrics['target']}` on the {metrics['backend']} backend"


def count_table(data: ReportData) -> Table:
    counts = data.data["counts"]
    labels = {key: key.replace("dropped_", "dropped: ").replace("_", " ") for key in counts}
    return ["", "rows"], [[labels[key], f"{n:,}"] for key, n in counts.items()]


def split_table(data: ReportData) -> Table:
    """Rows per split with the target's balance: positive share (classification) or mean and std (regression)."""
    summary = data.data
    if data.task == "classification":
        rows = [[name, f"{s['rows']:,}", f"{s['mean']:.1%}"] for name, s in summary["splits"].items()]
        return ["split", "rows", "positive share"], [*rows, ["all", f"{summary['rows']:,}", f"{summary['mean']:.1%}"]]
    rows = [[name, f"{s['rows']:,}", f"{s['mean']:.4g}", f"{s['std']:.4g}"] for name, s in summary["splits"].items()]
    return ["split", "rows", "target mean", "target std"], [*rows, ["all", f"{summary['rows']:,}", "", ""]]


def classes_line(data: ReportData) -> str:
    classes = data.data["classes"]
    if data.task != "classification" or len(classes) != 2:
        return ""
    return f"positive class: `{classes[1]}` (negative: `{classes[0]}`)"


def null_table(data: ReportData) -> Table | None:
    """The loaded columns that have nulls, most first (None when no column has any, or none were counted)."""
    shares = data.data["null_share"]
    ordered = sorted(((c, s) for c, s in (shares or {}).items() if s > 0), key=lambda item: (-item[1], item[0]))
    if not ordered:
        return None
    return ["column", "null share"], [
        [column, f"{share:.2%}" if share < 0.001 else f"{share:.1%}"] for column, share in ordered
    ]


def nulls_line(data: ReportData) -> str:
    """What the null table leaves out: how many loaded columns have no nulls."""
    shares = data.data["null_share"]
    if shares is None:
        return "Nulls were not counted."
    clean = sum(1 for share in shares.values() if share == 0)
    if clean == len(shares):
        return f"None of the {len(shares)} loaded columns has nulls."
    return f"Share of nulls per loaded column ({clean} of {len(shares)} columns have none and are not listed):"


def seconds_table(data: ReportData) -> Table:
    return ["stage", "seconds"], [[stage, f"{seconds:.2f}"] for stage, seconds in data.seconds.items()]


def importance_table(values: dict[str, float], top: int = IMPORTANCE_TOP) -> Table:
    return ["feature", "importance"], [[feature, f"{value:.4f}"] for feature, value in list(values.items())[:top]]


HISTORY_FORMATS = {"seconds": "{:.2f}", "rows_per_second": "{:,.0f}"}
HISTORY_HEADERS = {"rows_per_second": "rows/s", "train_loss": "train loss"}


def history_table(history: list[dict[str, Any]]) -> Table:
    """The learning curve per epoch: seconds, rows/s, the training loss and the validation metrics."""
    rows = [
        [HISTORY_FORMATS.get(k, "{:.4f}").format(v) if isinstance(v, float) else str(v) for k, v in row.items()]
        for row in history
    ]
    return [HISTORY_HEADERS.get(key, key.replace("_", " ")) for key in history[0]], rows


def curves_line(data: ReportData) -> str:
    """Each model's curve metric on the test split, recomputed from its predictions (the figures' legends)."""
    return f"On the test split ({len(data.y_test):,} rows): " + ", ".join(data.curve_labels.values())


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table; a `|` in a cell (a column's name, a category's value) is escaped."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *(line(row) for row in rows)])


def residency_lines(residency: dict[str, Any]) -> str:
    """The residency ledger as markdown: its notes, then its tables."""
    lines = "\n".join(f"- {line}" for line in residency_notes(residency))
    return "\n\n".join([lines, *(markdown_table(*table) for table in residency_tables(residency))])


def run_table(data: ReportData) -> Table | None:
    """What produced the run, as (what, value) rows: the settings that differ from the defaults first."""
    about = data.about
    if not about:
        return None
    shown = {
        name: ", ".join(map(str, value)) if isinstance(value, list) else value
        for name, value in about["changed"].items()
    }
    changed = "; ".join(f"{name} = {value}" for name, value in shown.items()) or "none: the defaults"
    rows = [["settings changed", changed]]
    rows += [["input", f"{path} (sha256 {digest[:12]})"] for path, digest in about["inputs"].items()]
    rows += [["started", about["started"]], ["backend", about["backend"]], ["commit", about["commit"] or "unknown"]]
    rows.append(["versions", ", ".join(f"{name} {version}" for name, version in about["versions"].items())])
    flow_run = about.get("flow_run") or {}
    if flow_run.get("id"):
        rows.append(["Prefect flow run", flow_run.get("url") or flow_run["id"]])
    return ["what", "value"], rows


def test_metrics_table(data: ReportData) -> Table:
    """Every model's test metrics and fit seconds, then the baseline's (pipelines.report.decision)."""
    names = list(METRICS[data.task])
    rows = [
        [model, *(f"{score['test'][n]:.4f}" for n in names), f"{score['fit_seconds']:.1f}"]
        for model, score in data.metrics["models"].items()
    ]
    return ["model", *(f"test {n}" for n in names), "fit seconds"], [*rows, baseline_row(data, names)]


def learning_line(history: list[dict[str, Any]]) -> str:
    """What the learning curve shows; a single epoch has no curve, and says so."""
    if len(history) == 1:
        return "One epoch only: no curve to draw (train with --epochs 2 or more to see one)."
    return "The mean training loss and the validation metrics after each epoch."


def markdown(data: ReportData) -> str:
    """report.md, and the train run's Prefect artifact."""
    sections = [f"# Run {data.run}", task_line(data.metrics)]
    if (about := run_table(data)) is not None:
        sections.append("## Run\n\n" + markdown_table(*about))
    best = f"Best on the validation split: **{data.metrics['best_model']}**."
    sections.append(
        "## Test metrics\n\n" + markdown_table(*test_metrics_table(data)) + f"\n\n{best} " + curves_line(data)
    )
    sections.append("## Decision\n\n" + decision_markdown(data))
    data_parts = [markdown_table(*count_table(data)), classes_line(data), markdown_table(*split_table(data))]
    data_parts.append(nulls_line(data))
    if (nulls := null_table(data)) is not None:
        data_parts.append(markdown_table(*nulls))
    sections.append("## Data\n\n" + "\n\n".join(part for part in data_parts if part))
    if (profile := profile_table(data)) is not None:
        sections.append("## Drift baseline\n\n" + profile_line(data) + "\n\n" + markdown_table(*profile))
    sections.append("## Feature importance")
    for found in data.importances:
        table = markdown_table(*importance_table(found.values))
        sections.append(f"### {found.model}: {found.method}\n\n{found.describe(data.task)}\n\n{table}")
    sections.append("## Seconds per stage\n\n" + markdown_table(*seconds_table(data)))
    for name, history in data.histories.items():
        curve = learning_line(history) + "\n\n" + markdown_table(*history_table(history))
        sections.append(f"## {name} learning curve\n\n{curve}")
    if data.residency is not None:
        sections.append("## Residency\n\n" + residency_lines(data.residency))
    if data.notes:
        sections.append("## Notes\n\n" + "\n".join(f"- {n}" for n in data.notes))
    return "\n\n".join(sections).strip() + "\n"


def decision_markdown(data: ReportData) -> str:
    """The decision section: its lines and tables (pipelines.report.decision_tables), then the checks' notes."""
    parts = [text if kind == "text" else markdown_table(*text) for kind, text in decision_parts(data)]
    if data.decision.notes:
        parts.append("Read with care:\n\n" + "\n".join(f"- {note}" for note in data.decision.notes))
    return "\n\n".join(parts)
