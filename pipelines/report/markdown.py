"""The run's human-readable summary: report.md (also the Prefect artifact of a train run) and report.html.

Both are drawn from one `ReportData` (pipelines.report.data: host values gathered after training) and show the
same sections: test metrics, the curves' test metric per model, feature importance, seconds per stage, each
learning curve, the residency ledger, the data summary and the notes. report.md gives them as tables;
report.html (pipelines.report.html) adds the figures (pipelines.report.figures), embedded in the page.
pipelines.runs.record writes both.
"""

from __future__ import annotations

from typing import Any

from pipelines.evaluate import METRICS
from pipelines.report.data import ReportData

Table = tuple[list[str], list[list[str]]]  # a header and rows of cells, drawn as markdown or HTML
IMPORTANCE_TOP = 15


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


def task_line(metrics: dict[str, Any]) -> str:
    return f"{metrics['task']} of `{metrics['target']}` on the {metrics['backend']} backend"


def residency_notes(residency: dict[str, Any]) -> list[str]:
    """What the ledger can vouch for: the handoff's pointer check, the assembly, whether it sees copies at all."""
    lines = [
        f"handoff zero-copy (pointer check on every column): {residency.get('handoff_zero_copy')}",
        f"device-to-device assembly of the features: {residency.get('device_to_device_assembly_bytes')} bytes",
    ]
    if not residency.get("enabled"):
        source = residency.get("source", "")
        if source.startswith("not traced"):
            return [*lines, f"copies {source}"]
        return [*lines, "CPU backend: no device, so no host<->device copies to record"]
    calibration = residency.get("calibration") or {}
    if residency.get("sees_copies") is False:
        lines.append(
            f"**the ledger cannot see copies**: the profiler saw {calibration.get('seen_bytes')} of the "
            f"{calibration.get('copied_bytes')} bytes of a known test copy, so the zeros below prove nothing "
            "(CUDA activity records unavailable: is GPU profiling restricted to administrators?)"
        )
    elif residency.get("sees_copies"):
        lines.append(f"the ledger saw its {calibration.get('copied_bytes')}-byte test copy: its counts are live")
    for stage, models in (residency.get("model_transfers") or {}).items():
        for whose, copies in models.items():
            lines.append(
                f"not budgeted, in {stage}: {whose} copied {copies.get('device_to_host_bytes', 0):,} bytes of its "
                f"model to the host ({copies.get('device_to_host_copies', 0):,} copies) and "
                f"{copies.get('host_to_device_bytes', 0):,} bytes to the device"
            )
    return lines


def residency_table(residency: dict[str, Any]) -> Table | None:
    """Copy bytes per stage and direction (GPU); None on the CPU, where nothing is recorded."""
    if not residency.get("enabled"):
        return None
    directions = ("host_to_device", "device_to_host", "device_to_device")
    rows = [
        [stage, *(f"{row.get(f'{d}_bytes', 0):,}" for d in directions)]
        for stage, row in residency.get("stages", {}).items()
    ]
    return ["stage", "host->device bytes", "device->host bytes", "device->device bytes"], rows


def pointer_table(residency: dict[str, Any]) -> Table | None:
    """The handoff's pointer check per split: every tensor's data_ptr equals its column buffer's address."""
    splits = residency.get("handoff_splits")
    if not splits:
        return None
    rows = [[name, str(check["columns"]), "yes" if check["zero_copy"] else "NO"] for name, check in splits.items()]
    return ["handoff split", "columns checked", "every tensor aliases its column"], rows


def residency_tables(residency: dict[str, Any]) -> list[Table]:
    """The ledger per stage (GPU), then the handoff's pointer checks per split."""
    return [table for table in (residency_table(residency), pointer_table(residency)) if table is not None]


def residency_lines(residency: dict[str, Any]) -> str:
    """The residency ledger as markdown: its notes, then its tables."""
    lines = "\n".join(f"- {line}" for line in residency_notes(residency))
    return "\n\n".join([lines, *(markdown_table(*table) for table in residency_tables(residency))])


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
    shares = data.data["null_share"]
    if shares is None:
        return None
    ordered = sorted(shares.items(), key=lambda item: (-item[1], item[0]))
    return ["column", "null share"], [[column, f"{share:.1%}"] for column, share in ordered]


def seconds_table(data: ReportData) -> Table:
    return ["stage", "seconds"], [[stage, f"{seconds:.2f}"] for stage, seconds in data.seconds.items()]


def importance_table(values: dict[str, float], top: int = IMPORTANCE_TOP) -> Table:
    return ["feature", "importance"], [[feature, f"{value:.4f}"] for feature, value in list(values.items())[:top]]


def history_table(history: list[dict[str, Any]]) -> Table:
    rows = [[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()] for row in history]
    return list(history[0]), rows


def curves_line(data: ReportData) -> str:
    """Each model's curve metric on the test split, recomputed from its predictions (the figures' legends)."""
    return f"On the test split ({len(data.y_test):,} rows): " + ", ".join(data.curve_labels.values())


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


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


def markdown(data: ReportData) -> str:
    """report.md, and the train run's Prefect artifact."""
    sections = [f"# Run {data.run}", task_line(data.metrics)]
    if (about := run_table(data)) is not None:
        sections.append("## Run\n\n" + markdown_table(*about))
    sections.append("## Test metrics\n\n```\n" + metrics_table(data.metrics))
    sections[-1] += "\n```\n\n" + curves_line(data)
    data_parts = [markdown_table(*count_table(data)), classes_line(data), markdown_table(*split_table(data))]
    nulls = null_table(data)
    if nulls is not None:
        data_parts += ["Share of nulls per loaded column:", markdown_table(*nulls)]
    sections.append("## Data\n\n" + "\n\n".join(part for part in data_parts if part))
    sections.append("## Feature importance")
    for found in data.importances:
        table = markdown_table(*importance_table(found.values))
        sections.append(f"### {found.model}: {found.method}\n\n{found.describe(data.task)}\n\n{table}")
    sections.append("## Seconds per stage\n\n" + markdown_table(*seconds_table(data)))
    for name, history in data.histories.items():
        sections.append(f"## {name} learning curve\n\n" + markdown_table(*history_table(history)))
    if data.residency is not None:
        sections.append("## Residency\n\n" + residency_lines(data.residency))
    if data.notes:
        sections.append("## Notes\n\n" + "\n".join(f"- {n}" for n in data.notes))
    return "\n\n".join(sections).strip() + "\n"
