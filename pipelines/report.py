"""The run's human-readable summary: a metrics table (printed and in report.md), learning curves, the ledger."""

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


def residency_lines(residency: dict[str, Any]) -> str:
    """The residency ledger as a small markdown table (GPU), or the CPU handoff evidence."""
    lines = [
        f"- handoff zero-copy (pointer check on every column): {residency.get('handoff_zero_copy')}",
        f"- device-to-device assembly of the features: {residency.get('device_to_device_assembly_bytes')} bytes",
    ]
    if not residency.get("enabled"):
        return "\n".join([*lines, "- CPU backend: no device, so no host<->device copies to record"])
    calibration = residency.get("calibration") or {}
    if residency.get("sees_copies") is False:
        lines.append(
            f"- **the ledger cannot see copies**: the profiler saw {calibration.get('seen_bytes')} of the "
            f"{calibration.get('copied_bytes')} bytes of a known test copy, so the zeros below prove nothing "
            "(CUDA activity records unavailable: is GPU profiling restricted to administrators?)"
        )
    elif residency.get("sees_copies"):
        lines.append(f"- the ledger saw its {calibration.get('copied_bytes')}-byte test copy: its counts are live")
    lines += ["", "| stage | host->device bytes | device->host bytes | device->device bytes |", "|---|---|---|---|"]
    for stage, row in residency.get("stages", {}).items():
        cells = [row.get(f"{d}_bytes", 0) for d in ("host_to_device", "device_to_host", "device_to_device")]
        lines.append(f"| {stage} | " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def write_report(
    run: RunDirectory,
    metrics: dict[str, Any],
    curves: dict[str, list[dict[str, Any]]],
    notes: list[str],
    residency: dict[str, Any] | None = None,
) -> None:
    """report.md: test metrics, each learning curve (one row per epoch), the residency ledger, the notes."""
    task_line = f"{metrics['task']} of `{metrics['target']}` on the {metrics['backend']} backend"
    sections = [f"# Run {run.name}", task_line, "## Test metrics\n\n```\n" + metrics_table(metrics) + "\n```"]
    sections += [f"## {name} learning curve\n\n" + _table(history) for name, history in curves.items()]
    if residency is not None:
        sections.append("## Residency\n\n" + residency_lines(residency))
    if notes:
        sections.append("## Notes\n\n" + "\n".join(f"- {n}" for n in notes))
    run.write_text("report.md", "\n\n".join(sections).strip() + "\n")


def _table(rows: list[dict[str, Any]]) -> str:
    header = "| " + " | ".join(rows[0]) + " |\n|" + "---|" * len(rows[0])
    body = (
        "| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()) + " |" for row in rows
    )
    return header + "\n" + "\n".join(body)
