"""Handoff benchmark: `to_torch` (tensors that alias a frame's columns) vs copying the frame into torch.

For each row count, a frame of `--columns` float32 columns laid out as the feature workflow leaves it (one
buffer per column), and the median seconds over `--repeats` calls, after one untimed call, of:

    to_torch      pipelines.training.handoff.to_torch(frame, columns, backend): the whole call, null check included
    to_torch_trusted  to_torch(..., check_nulls=False): as the pipeline runs it on a Workflow's checked output
    null_check    the part of to_torch that reads every value: `int(frame[c].isna().sum())` per column
    views         the zero-copy part alone: `backend.column_view` + `torch.from_dlpack` per column
    copy_matrix   torch.tensor(frame.to_numpy(), device=backend's): the naive way (on the GPU, a host round trip)
    copy_columns  torch.from_dlpack(view).clone() per column: to_torch's output, but copied on its device

    python -m benchmarks.handoff [--rows 1000000 10000000] [--columns 32] [--repeats 5] [--backend cpu|gpu]
                                 [--json PATH]

`--backend gpu` builds each frame as a cuDF frame with `backend.from_pandas` (RAPIDS and a CUDA device needed).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmarks.results import CpuLoad, base_parser, parse_args, positive_int, record, run_command, write_json
from pipelines.backend import Backend, select
from pipelines.errors import DataError
from pipelines.training.handoff import to_torch

MODULE = "benchmarks.handoff"


def make_frame(rows: int, columns: int, backend: Backend, seed: int = 0) -> Any:
    """A frame of float32 columns f00, f01, ... in one block whose columns are each contiguous."""
    block = np.random.default_rng(seed).standard_normal((columns, rows), dtype=np.float32)
    frame = pd.DataFrame(block.T, columns=[f"f{i:02d}" for i in range(columns)], copy=False)
    return backend.from_pandas(frame)


def measurements(frame: Any, backend: Backend) -> dict[str, Callable[[], Any]]:
    """What is timed, by name; each returns what it built, so that it is freed outside the timing."""
    columns = list(frame.columns)

    def views() -> list[torch.Tensor]:
        return [torch.from_dlpack(backend.column_view(frame[c])) for c in columns]

    return {
        "to_torch": lambda: to_torch(frame, columns, backend),
        "to_torch_trusted": lambda: to_torch(frame, columns, backend, check_nulls=False),
        "null_check": lambda: sum(int(frame[c].isna().sum()) for c in columns),
        "views": views,
        "copy_matrix": lambda: torch.tensor(frame.to_numpy(), device=backend.torch_device),
        "copy_columns": lambda: [tensor.clone() for tensor in views()],
    }


def seconds(action: Callable[[], Any], repeats: int, backend: Backend) -> list[float]:
    """Seconds of each of `repeats` calls after one untimed call; one result is alive at a time."""
    action()  # untimed; its result is freed at once
    times = []
    for _ in range(repeats):
        backend.synchronize()
        start = time.perf_counter()
        result = action()
        backend.synchronize()
        times.append(time.perf_counter() - start)
        del result
    return times


def measure(rows: int, args: argparse.Namespace, backend: Backend) -> dict[str, Any]:
    frame = make_frame(rows, args.columns, backend, args.seed)
    _, check = to_torch(frame, list(frame.columns), backend)
    if not check.zero_copy:
        raise DataError(f"to_torch copied a column at {rows} rows; the benchmark measures the zero-copy path.")
    timings = {name: seconds(action, args.repeats, backend) for name, action in measurements(frame, backend).items()}
    del frame
    gc.collect()
    return {
        "rows": rows,
        "zero_copy": check.zero_copy,
        "median_seconds": {name: statistics.median(times) for name, times in timings.items()},
        "seconds": timings,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(_parser(), argv)
    load = CpuLoad()
    backend = select(args.backend)
    by_rows = [measure(rows, args, backend) for rows in sorted(args.rows)]
    first, last = by_rows[0], by_rows[-1]
    growth = {name: last["median_seconds"][name] / first["median_seconds"][name] for name in first["median_seconds"]}
    results = {
        "by_rows": by_rows,
        "rows_ratio": last["rows"] / first["rows"],
        "growth": growth,
        "copy_matrix_over_to_torch": {
            str(m["rows"]): m["median_seconds"]["copy_matrix"] / m["median_seconds"]["to_torch"] for m in by_rows
        },
    }
    run = record(MODULE, argv, args, results, backend.torch_device, load)
    _print_table(run)
    if args.json:
        write_json(args.json, run)
    return run


def _print_table(run: dict[str, Any]) -> None:
    s, r, m = run["settings"], run["results"], run["machine"]
    print(f"{s['columns']} float32 columns, backend {s['backend']} ({m['device']}), median of {s['repeats']} calls")
    print(f"{m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch threads")
    header = "".join(f"{row['rows']:>16,} rows" for row in r["by_rows"])
    print(f"{'seconds':<14}{header}{'growth':>10}")
    for name, growth in r["growth"].items():
        cells = "".join(f"{row['median_seconds'][name]:>21.5f}" for row in r["by_rows"])
        print(f"{name:<14}{cells}{growth:>9.1f}x")
    others = m["load"].get("other_processes_cpu_share", float("nan"))
    print(f"other processes used {others:.0%} of all cores meanwhile (timings on a busy machine vary)")
    print(f"rows grow {r['rows_ratio']:.0f}x; copy_matrix / to_torch: ", end="")
    print(", ".join(f"{ratio:.1f}x at {int(rows):,} rows" for rows, ratio in r["copy_matrix_over_to_torch"].items()))


def _parser() -> argparse.ArgumentParser:
    parser = base_parser(MODULE, __doc__.splitlines()[0])
    parser.add_argument("--rows", type=positive_int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--columns", type=positive_int, default=32)
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--backend", choices=["cpu", "gpu"], default="cpu")
    return parser


if __name__ == "__main__":
    run_command(main)
