"""`devicepipe bench --fixed-cost`: what every `devicepipe run` pays before its first stage and after its last.

A 2,000-row CSV (seeded), `devicepipe run --data t.csv --target y --model xgboost --epochs 1 --no-cache`, each
run a fresh process in a fresh folder, timed from the moment it is started to the moment it has exited. Two
ways of finding a Prefect server:

- temporary: no PREFECT_API_URL, as on a fresh machine: the run starts Prefect's temporary server. The first
  run also creates the Prefect database (its own PREFECT_HOME) and is reported apart from the others.
- running: PREFECT_API_URL names a `prefect server start` that this benchmark started beforehand.

The breakdown comes from the marks the run writes where DEVICEPIPE_FIXED_COST_LOG names a file (flows/fixed_cost.py)
and from the seconds per stage in its manifest. Also timed: `devicepipe --help` and two usage errors.
Output: a table on the terminal and <out>/fixed-cost-<time>.json. Medians; the machine's load beside them.

    devicepipe bench --fixed-cost [--repeat 5] [--out bench]
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from benchmarks.results import CpuLoad, machine
from flows.fixed_cost import ENV_VAR
from pipelines.files import atomic_path
from pipelines.runs.rundir import git_commit

RUN = ["run", "--data", "t.csv", "--target", "y", "--model", "xgboost", "--epochs", "1", "--no-progress"]
RUN += ["--no-cache", "--output", "runs"]
USAGE = {
    "--help": ["--help"],
    "run --bogus": ["run", "--bogus"],
    "run --epochs abc": ["run", "--epochs", "abc"],
    "run --epochs 0": ["run", "--epochs", "0"],  # a setting checked by RunConfig, not by the parser
}
# (row, indent) in the order of the table; each row's value per run comes from phases().
ROWS = [
    ("process start to first stage", 0),
    ("start (interpreter, CLI import)", 1),
    ("imports and input checks", 1),
    ("waiting for the Prefect server", 1),
    ("flow start to first stage", 1),
    ("stages (the work itself)", 0),
    ("task bookkeeping between stages", 0),
    ("last stage to exit", 0),
    ("writing the run directory", 1),
    ("flow end (artifact, final state)", 1),
    ("shutdown (server stop, exit)", 1),
    ("end to end", 0),
]


def write_table(path: Path, rows: int = 2000, seed: int = 0) -> Path:
    """A small classification table: two numbers, a category, a count and a target that depends on them."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    frame["c"] = rng.choice(["x", "y", "z"], rows)
    frame["d"] = rng.integers(0, 50, rows)
    frame["y"] = (frame["a"] + 0.5 * frame["b"] + rng.normal(size=rows) > 0).astype(int)
    frame.to_csv(path, index=False)
    return path


def timed_run(workspace: Path, name: str, env: dict[str, str], args: list[str]) -> dict[str, Any]:
    """One `devicepipe ARGS` in a fresh process: wall seconds, exit code, and the marks it wrote."""
    folder = workspace / name
    folder.mkdir()
    (folder / "t.csv").symlink_to(workspace / "t.csv")
    marks = folder / "marks.jsonl"
    command = [sys.executable, "-m", "flows.cli", *args]
    with open(folder / "output.log", "w") as log:
        started = time.time()
        done = subprocess.run(command, cwd=folder, env={**env, ENV_VAR: str(marks)}, stdout=log, stderr=log)
        ended = time.time()
    found = [json.loads(line) for line in marks.read_text().splitlines()] if marks.exists() else []
    manifest = folder / "runs" / "latest" / "manifest.json"
    seconds = json.loads(manifest.read_text())["seconds"] if manifest.exists() else {}  # task included
    return {
        "exit_code": done.returncode,
        "wall": ended - started,
        "started": started,
        "ended": ended,
        "marks": {m["mark"]: m["t"] for m in found},
        "stage_seconds": seconds,
    }


def phases(run: dict[str, Any]) -> dict[str, float | None]:
    """Seconds per row of ROWS for one run, from its marks (None where a mark is missing)."""
    m, t0, t1 = run["marks"], run["started"], run["ended"]
    # The stages' own work: each stage's function between its marks inside its task (the manifest's seconds per
    # stage include the task's bookkeeping).
    ends = {name.split(":")[1]: t for name, t in m.items() if name.startswith("stage:") and name.endswith(":end")}
    stages = sum(t - m[f"stage:{name}:begin"] for name, t in ends.items())

    def span(a: str, b: str) -> float | None:
        return m[b] - m[a] if a in m and b in m else None

    # Waiting for the server: our own wait (server-wait..server-ready), or, where Prefect starts its temporary
    # server inside the first flow call, from its "Starting temporary server" to the flow run's first line.
    wait = span("server-wait", "server-ready") or span("prefect-server-starting", "flow-run-begins") or 0.0
    own_wait = span("server-wait", "server-ready") or 0.0
    to_flow = span("main", "flow-call")
    flow_to_first = span("flow-call", "stages-begin")
    row = {
        "process start to first stage": m["stages-begin"] - t0 if "stages-begin" in m else None,
        "start (interpreter, CLI import)": m["main"] - t0 if "main" in m else None,
        "imports and input checks": to_flow - own_wait if to_flow is not None else None,
        "waiting for the Prefect server": wait,
        "flow start to first stage": flow_to_first - (wait - own_wait) if flow_to_first is not None else None,
        "stages (the work itself)": stages,
        "task bookkeeping between stages": (span("stages-begin", "stages-end") or 0.0) - stages,
        "last stage to exit": t1 - m["stages-end"] if "stages-end" in m else None,
        "writing the run directory": span("stages-end", "run-written"),
        "flow end (artifact, final state)": span("run-written", "flow-returned"),
        "shutdown (server stop, exit)": t1 - m["flow-returned"] if "flow-returned" in m else None,
        "end to end": t1 - t0,
    }
    return {name: None if value is None else round(value, 3) for name, value in row.items()}


def median_phases(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    table = [phases(run) for run in runs]
    return {
        name: round(statistics.median(values), 3)
        if (values := [t[name] for t in table if t[name] is not None])
        else None
        for name, _ in ROWS
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(env: dict[str, str], folder: Path):
    """A `prefect server start` on a free port of 127.0.0.1, until the block ends; yields its API URL."""
    port = _free_port()
    prefect = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with open(folder / "server.log", "w") as log:
        server = subprocess.Popen([*prefect, "--no-ui"], env=env, stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while not _healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def measure(repeat: int, workspace: Path) -> dict[str, Any]:
    """Every timed command, in `workspace`; returns the raw runs by scenario."""
    write_table(workspace / "t.csv")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {"PREFECT_HOME": str(workspace / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    runs: dict[str, Any] = {"usage": {name: [] for name in USAGE}}
    for i in range(3):
        for name, args in USAGE.items():
            runs["usage"][name].append(timed_run(workspace, f"usage-{i}-{name.replace(' ', '_')}", env, args))
    runs["first"] = timed_run(workspace, "first", env, RUN)  # creates the Prefect database
    runs["temporary"] = [timed_run(workspace, f"temporary-{i}", env, RUN) for i in range(repeat)]
    with running_server(env, workspace) as url:
        runs["running"] = [
            timed_run(workspace, f"running-{i}", {**env, "PREFECT_API_URL": url}, RUN) for i in range(repeat)
        ]
    failed = [r for key in ("temporary", "running") for r in runs[key] if r["exit_code"] != 0]
    if runs["first"]["exit_code"] != 0 or failed:
        raise RuntimeError(f"a timed run failed; its output is in {workspace}/*/output.log")
    return runs


def fixed_cost(repeat: int, out: Path) -> dict[str, Any]:
    """Measure, summarise, and write <out>/fixed-cost-<time>.json; return the report."""
    load = CpuLoad()
    with tempfile.TemporaryDirectory(prefix="devicepipe-fixed-cost-") as folder:
        runs = measure(repeat, Path(folder))
    report = {
        "benchmark": "fixed-cost",
        "command": f"devicepipe bench --fixed-cost --repeat {repeat}",
        "run": "devicepipe " + " ".join(RUN),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": {**machine(torch.device("cpu")), "load": load.finish()},
        "medians": {key: median_phases(runs[key]) for key in ("temporary", "running")},
        "first_run": phases(runs["first"]),
        "usage_seconds": {
            name: round(statistics.median(r["wall"] for r in rs), 3) for name, rs in runs["usage"].items()
        },
        "runs": runs,
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"fixed-cost-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    report["json"] = str(path)
    return report


def print_table(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"{report['run']}\n{m['cpu']}, {m['cores']} cores; medians of the repeats, seconds")
    print(f"{'':<40}{'temporary server':>18}{'running server':>16}")
    for name, indent in ROWS:
        cells = [report["medians"][key][name] for key in ("temporary", "running")]
        text = [f"{c:.2f}" if c is not None else "-" for c in cells]
        print(f"{'  ' * indent + name:<40}{text[0]:>18}{text[1]:>16}")
    print(f"first run (creates the Prefect database): {report['first_run']['end to end']:.2f} s end to end")
    print("; ".join(f"devicepipe {name}: {s:.2f} s" for name, s in report["usage_seconds"].items()))
    load = m["load"]
    others = load.get("other_processes_cpu_share")
    print(
        f"load average at start {load['load_average_at_start'][0]:.2f}"
        + (f"; other processes used {others:.0%} of all cores meanwhile" if others is not None else "")
    )
