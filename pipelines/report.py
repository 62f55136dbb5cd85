"""The run's human-readable summary: a metrics table (printed and in report.md) and the MLP's curve."""

from __future__ import annotations

from typing import Any

from pipelines.evaluate import METRICS
from pipelines.rundir import RunDirectory


def metrics_table(metrics: dict[str, Any]) -> str:
    """A fixed-width table of every model's test metrics, the best model marked."""
    names = list(METRICS[metrics["task"]])
    header = f"{'model':<22}" + "".join(f"{'test ' + n:>14}" for n in names) + f"{'fit s':>10}"
    lines = [header, "-" * len(header)]
    for model, score in metrics["models"].items():
        mark = " *" if model == metrics["best_model"] else ""
        cells = "".join(f"{score['test'][n]:>14.4f}" for n in names)
        lines.append(f"{model + mark:<22}{cells}{score['fit_seconds']:>10.1f}")
    lines.append(f"* best on the validation split; backend {metrics['backend']}; rows {metrics['rows']}")
    return "\n".join(lines)


def write_report(run: RunDirectory, metrics: dict[str, Any], history: list[dict[str, Any]], notes: list[str]) -> None:
    task_line = f"{metrics['task']} of `{metrics['target']}` on the {metrics['backend']} backend"
    curve = "\n".join(
        "| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()) + " |"
        for row in history
    )
    curve_header = ("| " + " | ".join(history[0]) + " |\n|" + "---|" * len(history[0])) if history else ""
    text = "\n\n".join(
        [
            f"# Run {run.name}",
            task_line,
            "## Test metrics\n\n```\n" + metrics_table(metrics) + "\n```",
            "## MLP learning curve\n\n" + curve_header + "\n" + curve,
            "## Notes\n\n" + "\n".join(f"- {n}" for n in notes) if notes else "",
        ]
    )
    run.write_text("report.md", text.strip() + "\n")
