"""`devicepipe bench`'s comparison: the three sides' records as one table of seconds per step, the ratios, the test
AUCs; printed on the terminal and drawn as a PNG chart (benchmarks/bench.py runs the sides).

Sides: the naive way (benchmarks/naive.py), the peer (benchmarks/peer.py: Polars + XGBoost) and devicepipe (its
stages, benchmarks/stages.py; and in the last row `devicepipe run` as a user types it, start to exit).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.files import atomic_path

SIDES = ("naive", "peer", "devicepipe")
LABELS = {"naive": "naive", "peer": "polars+xgboost", "devicepipe": "devicepipe"}
START_TO_END = "a fresh process, start to end"
# (row, naive's key, the peer's key, devicepipe's key or keys); None: that side has no such step.
ROWS = [
    ("load", "load", "load", "load"),
    ("features (split included)", "features", "features", ("split", "features")),
    ("logistic_regression", "logistic_regression", None, "logistic_regression"),
    ("random_forest", "random_forest", None, "random_forest"),
    ("xgboost", None, "xgboost", "xgboost"),
    ("handoff", "handoff", None, "handoff"),
    ("one MLP epoch", "epoch", None, "epoch"),
    ("MLP, all epochs", "mlp", None, "mlp"),
    ("end to end", "total", "total", "total"),
    (START_TO_END, "process", "process", "process"),
]


def naive_cells(run: dict[str, Any], process: float) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per row key and test AUC per model, from benchmarks.naive's record and its process's wall."""
    results = run["results"]
    seconds = dict(results["seconds"])
    seconds["epoch"] = sum(results["epoch_seconds"]) / len(results["epoch_seconds"])
    seconds["process"] = process
    return seconds, results["auc"]


def peer_cells(run: dict[str, Any], process: float) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per row key and test AUC, from benchmarks.peer's record: its start to end is from the process's start
    to its AUC (where /proc says when the process started), without the record-keeping after it."""
    results = run["results"]
    seconds = dict(results["seconds"])
    seconds["process"] = results.get("start_to_result") or process
    return seconds, results["auc"]


def devicepipe_cells(run: dict[str, Any], end_to_end: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per row key and test AUC per model, from benchmarks.stages' record (the CPU backend); start to end
    is `devicepipe run`'s wall."""
    result = run["results"]["by_backend"]["cpu"]
    seconds = dict(result["seconds"])
    seconds |= {name: model["fit_seconds"] for name, model in result["models"].items()}
    epochs = result["epoch_seconds"].get("mlp", [])
    seconds["epoch"] = sum(epochs) / len(epochs) if epochs else None
    seconds["total"] = result["total_seconds"]
    seconds["process"] = end_to_end["wall_seconds"]
    return seconds, {name: model["test"]["auc"] for name, model in result["models"].items()}


def compare(
    naive: dict[str, Any], peer: dict[str, Any], ours: dict[str, Any], end_to_end: dict[str, Any], walls: dict
) -> dict[str, Any]:
    """The table: seconds per row for each side, naive / devicepipe (`speedup`) and devicepipe / peer (`vs_peer`:
    the issue's bar is 1.5 or less), each model's test AUC and each side's best."""
    cells = {
        "naive": naive_cells(naive, walls["naive"]),
        "peer": peer_cells(peer, walls["peer"]),
        "devicepipe": devicepipe_cells(ours, end_to_end),
    }
    rows = []
    for label, *keys in ROWS:
        row: dict[str, Any] = {"step": label}
        for side, key in zip(SIDES, keys, strict=True):
            found = [cells[side][0].get(k) for k in (key if isinstance(key, tuple) else (key,)) if k]
            row[side] = sum(found) if found and None not in found else None
        row["speedup"] = _ratio(row["naive"], row["devicepipe"])
        row["vs_peer"] = _ratio(row["devicepipe"], row["peer"])
        rows.append(row)
    auc = {side: cells[side][1] for side in SIDES} | {"devicepipe_run": end_to_end["auc"]}
    best = {
        side: dict(zip(("model", "auc"), max(a.items(), key=lambda kv: kv[1]), strict=True)) for side, a in auc.items()
    }
    by_step = {row["step"]: row for row in rows}
    return {
        "rows": rows,
        "auc": auc,
        "best": best,
        "auc_minus_peer": {
            side: round(best[side]["auc"] - best["peer"]["auc"], 4) for side in ("devicepipe", "devicepipe_run")
        },
        "speedup_end_to_end": by_step["end to end"]["speedup"],
        "vs_peer_end_to_end": by_step["end to end"]["vs_peer"],
        "vs_peer_start_to_end": by_step[START_TO_END]["vs_peer"],
    }


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return round(top / bottom, 2) if top and bottom else None


def print_table(report: dict[str, Any]) -> None:
    m, table = report["machine"], report["comparison"]
    print(f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, torch {m['versions'].get('torch')}")
    print(f"{'seconds':<31}{'naive':>9}{LABELS['peer']:>16}{'devicepipe':>12}{'speedup':>9}{'dp/peer':>9}")
    for row in table["rows"]:
        cells = [f"{row[s]:.2f}" if row[s] is not None else "-" for s in SIDES]
        ratios = [f"{row[k]:.2f}x" if row[k] else "" for k in ("speedup", "vs_peer")]
        print(f"{row['step']:<31}{cells[0]:>9}{cells[1]:>16}{cells[2]:>12}{ratios[0]:>9}{ratios[1]:>9}")
    print("speedup: naive / devicepipe; dp/peer: devicepipe / polars+xgboost (the bar: 1.5x or less)")
    run = report["devicepipe_run"]
    print(f"{START_TO_END}: naive's process; the peer's from its start to its AUC; devicepipe: `{run['command']}`")
    names = {**LABELS, "devicepipe": "devicepipe stages", "devicepipe_run": "devicepipe run (end to end)"}
    for side, aucs in table["auc"].items():
        print(f"test AUC, {names[side]}: " + ", ".join(f"{name} {auc:.4f}" for name, auc in aucs.items()))
    minus = table["auc_minus_peer"]
    print(f"best test AUC minus the peer's: devicepipe stages {minus['devicepipe']:+.4f}, ", end="")
    print(f"devicepipe run {minus['devicepipe_run']:+.4f}")
    others = m["load"].get("other_processes_cpu_share")
    if others is not None:
        print(f"other processes used {others:.0%} of all cores meanwhile (timings on a busy machine vary)")


def chart(report: dict[str, Any], path: Path) -> Path:
    """Seconds per step for the three sides as horizontal bars, the machine and the best AUCs in the title."""
    # start-up time: matplotlib only when a chart is drawn
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["comparison"]["rows"]
    fig, ax = plt.subplots(figsize=(10, 7))
    height = 0.27
    for i, side in enumerate(SIDES):
        values = [row[side] or 0.0 for row in rows]
        positions = [k + (i - 1) * height for k in range(len(rows))]
        bars = ax.barh(positions, values, height, label=LABELS[side])
        labels = [f"{v:.1f}" if row[side] is not None else "-" for v, row in zip(values, rows, strict=True)]
        ax.bar_label(bars, labels=labels, fontsize=8)
    ax.set_yticks(range(len(rows)), [row["step"] for row in rows])
    ax.invert_yaxis()
    ax.set_xlabel("seconds (shorter is better); last row: devicepipe is `devicepipe run`, start to exit")
    best, m = report["comparison"]["best"], report["machine"]
    aucs = ", ".join(f"{name} {best[side]['auc']:.3f}" for side, name in _TITLE_NAMES.items())
    ax.set_title(
        f"{report['data']}: best test AUC {aucs}\n{m['cpu']}, {m['cores']} cores, "
        f"other load {m['load'].get('other_processes_cpu_share', 0):.0%}",
        fontsize=9,
    )
    ax.margins(x=0.15)  # room for the labels of the longest bars
    ax.legend(loc="center right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


_TITLE_NAMES = {"naive": "naive", "peer": "polars+xgboost", "devicepipe": "devicepipe", "devicepipe_run": "run"}
