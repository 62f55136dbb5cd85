"""`devicepipe bench --fixed-cost`: what every `devicepipe run` pays before its first stage and after its last.

A tiny table (2,000 rows, written as CSV) runs end to end as a user runs it: `devicepipe run --data X.csv
--target y --model xgboost --epochs 1` in a fresh process, with no PREFECT_API_URL (so the embedded server is
included), `--repeat` times. Each stderr line is stamped when it arrives; the breakdown of the wall time:

    imports and checks   process start -> the line that names the Prefect server (or Prefect's own
                         "Starting temporary server")
    server start         -> "Beginning flow run" (what is left of the server's start-up, plus creating the run)
    stages               the run's own seconds per stage (manifest.json)
    bookkeeping          "Beginning flow run" -> the flow's "Finished in state", less the stages: task runs,
                         states and logs sent to the server, the run directory written
    shutdown             the flow's end -> process exit (log flush, server stop)

Also timed: `devicepipe --help` and one usage error. Reported: every repeat and the medians, with the load.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmarks.results import machine
from pipelines.atomic import atomic_path
from pipelines.errors import ConfigError

PARTS = ("imports and checks", "server start", "stages", "bookkeeping", "shutdown", "wall")
SERVER_LINES = ("Prefect server:", "Starting temporary server")


def tiny_table(path: Path, rows: int = 2000, seed: int = 0) -> Path:
    """A classification table: two numbers, one category, target y."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows), "c": rng.choice(list("xyz"), rows)})
    frame["y"] = (frame["a"] + rng.normal(size=rows) > 0).astype(int)
    frame.to_csv(path, index=False)
    return path


def _environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("PREFECT_API_URL", None)
    return env


def timed(args: list[str], cwd: Path) -> tuple[float, list[tuple[float, str]], int]:
    """Run `devicepipe ARGS` in a fresh process: wall seconds, (seconds since start, stderr line), exit code."""
    command = [sys.executable, "-m", "flows.cli", *args]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines: list[tuple[float, str]] = []

    def read() -> None:
        for raw in process.stderr:  # type: ignore[union-attr]
            lines.append((time.perf_counter() - start, raw.decode(errors="replace")))

    reader = threading.Thread(target=read)
    reader.start()
    code = process.wait()
    wall = time.perf_counter() - start
    reader.join()
    return wall, lines, code


def _first(lines: list[tuple[float, str]], *needles: str) -> float:
    for seconds, line in lines:
        if any(needle in line for needle in needles):
            return seconds
    raise RuntimeError(f"no line with {needles} in the run's output:\n" + "".join(line for _, line in lines)[-3000:])


def breakdown(wall: float, lines: list[tuple[float, str]], stage_seconds: dict[str, float]) -> dict[str, float]:
    """The wall time of one run split into PARTS (see the module docstring)."""
    server = _first(lines, *SERVER_LINES)
    begun = _first(lines, "Beginning flow run")
    finished = max(seconds for seconds, line in lines if "Flow run" in line and "Finished in state" in line)
    stages = sum(stage_seconds.values())
    parts = [server, begun - server, stages, finished - begun - stages, wall - finished, wall]
    return {name: round(value, 3) for name, value in zip(PARTS, parts, strict=True)}


def one_run(table: Path, folder: Path) -> dict[str, Any]:
    args = ["run", "--data", str(table), "--target", "y", "--model", "xgboost", "--epochs", "1"]
    args += ["--no-progress", "--no-cache", "--output", str(folder / "runs")]
    wall, lines, code = timed(args, folder)
    if code != 0:
        raise RuntimeError(f"devicepipe run failed (exit {code}):\n" + "".join(line for _, line in lines)[-3000:])
    manifest = json.loads((folder / "runs" / "latest" / "manifest.json").read_text())
    server = next(line.strip() for _, line in lines if any(needle in line for needle in SERVER_LINES))
    return {"seconds": breakdown(wall, lines, manifest["seconds"]), "stages": manifest["seconds"], "server": server}


def fixed_cost(repeat: int = 3) -> dict[str, Any]:
    """`repeat` runs of the tiny table, plus --help and a usage error, each in a fresh process."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        table = tiny_table(folder / "tiny.csv")
        runs = [one_run(table, folder) for _ in range(repeat)]
        help_seconds = [timed(["--help"], folder)[0] for _ in range(repeat)]
        usage_seconds = [timed(["run", "--epochs", "abc"], folder)[0] for _ in range(repeat)]
    medians = {part: round(statistics.median(run["seconds"][part] for run in runs), 3) for part in PARTS}
    medians["--help"] = round(statistics.median(help_seconds), 3)
    medians["usage error"] = round(statistics.median(usage_seconds), 3)
    return {"runs": runs, "median": medians, "help": help_seconds, "usage_error": usage_seconds}


def write_fixed_cost(out: Path, repeat: int) -> dict[str, Any]:
    """Measure (see fixed_cost) and write <out>/fixed-cost-<time>.json with the machine and its load."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: give a folder for the report's JSON.")
    load_before = list(os.getloadavg())
    report = fixed_cost(repeat)
    report = {
        "benchmark": "fixed-cost",
        "command": f"devicepipe bench --fixed-cost --repeat {repeat}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            **machine(torch.device("cpu")),
            "load_average_before": load_before,
            "load_average_after": list(os.getloadavg()),
        },
        **report,
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"fixed-cost-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    report["json"] = str(path)
    return report


def print_fixed_cost(report: dict[str, Any]) -> None:
    print(f"{'seconds (median of ' + str(len(report['runs'])) + ')':<28}{'':>10}")
    for part, value in report["median"].items():
        print(f"{part:<28}{value:>10.2f}")
    print(report["runs"][0]["server"])
    before, after = report["machine"]["load_average_before"], report["machine"]["load_average_after"]
    print(f"load average (1, 5, 15 min) before: {before}, after: {after}")
