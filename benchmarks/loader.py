"""Loader benchmark: torch's DataLoader over a TensorDataset (the naive way) vs DeviceLoader (ours).

Both shuffle globally and yield (features [batch, F], target [batch]) at the same batch size, in one process.
The DataLoader fetches rows one at a time through `Dataset.__getitem__` and stacks them in `default_collate`;
DeviceLoader gathers each batch with one `index_select` per tensor from a permutation drawn each epoch.

CPU (default): both read the same host tensors. `--device cuda`: DeviceLoader over tensors already on the
device; the DataLoader over the host tensors with pinned memory, each batch sent with `.to(device)`.

    python -m benchmarks.loader [--rows 1000000] [--features 32] [--batch-size 4096] [--device cpu|cuda]
                                [--repeats 5] [--naive-batches 0] [--threads N] [--json PATH]

DeviceLoader: one untimed warm-up epoch, then `--repeats` timed full epochs. DataLoader: `--warmup-batches`
untimed batches, then `--naive-repeats` timed full epochs, or only the first `--naive-batches` batches of each
(rows/s is then rows timed / seconds timed, and the epoch time is extrapolated from it).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Iterable
from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.results import (
    CpuLoad,
    base_parser,
    non_negative_int,
    parse_args,
    positive_int,
    record,
    run_command,
    write_json,
)
from pipelines.errors import BackendUnavailable
from pipelines.training.loader import DeviceLoader

MODULE = "benchmarks.loader"


def make_data(rows: int, features: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Host tensors: float32 features [rows, features] and a float32 target [rows]."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(rows, features, generator=generator), torch.randn(rows, generator=generator)


def time_epoch(batches: Iterable, device: torch.device, limit: int | None = None) -> tuple[int, float]:
    """Rows and seconds of one pass over `batches` (only its first `limit` batches when given)."""
    _synchronize(device)
    rows, start = 0, time.perf_counter()
    for features, target in itertools.islice(batches, limit):
        features = features.to(device, non_blocking=True)  # a no-op where the batch is already there
        target = target.to(device, non_blocking=True)
        rows += features.shape[0]
    _synchronize(device)
    return rows, time.perf_counter() - start


def measure_naive(features: torch.Tensor, target: torch.Tensor, args: argparse.Namespace) -> dict[str, Any]:
    device, load = torch.device(args.device), CpuLoad()
    loader = DataLoader(
        TensorDataset(features, target),
        batch_size=args.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(args.seed),
        pin_memory=device.type == "cuda",
    )
    time_epoch(loader, device, args.warmup_batches)
    limit = args.naive_batches or None
    runs = [time_epoch(loader, device, limit) for _ in range(args.naive_repeats)]
    scope = f"first {limit} batches of" if limit else "full"
    timed = f"{scope} {args.naive_repeats} epoch(s), after {args.warmup_batches} untimed warm-up batches"
    return _summary(runs, features.shape[0], timed, limit is not None and limit < len(loader), load)


def measure_ours(features: torch.Tensor, target: torch.Tensor, args: argparse.Namespace) -> dict[str, Any]:
    device, load = torch.device(args.device), CpuLoad()
    loader = DeviceLoader((features.to(device), target.to(device)), args.batch_size, shuffle=True, seed=args.seed)
    time_epoch(loader, device)  # warm-up epoch 0, not timed
    runs = []
    for epoch in range(1, args.repeats + 1):
        loader.set_epoch(epoch)
        runs.append(time_epoch(loader, device))
    timed = f"full {args.repeats} epoch(s), after 1 untimed warm-up epoch"
    return _summary(runs, features.shape[0], timed, False, load)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(_parser(), argv)
    load = CpuLoad()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailable("--device cuda needs a CUDA device that torch can use; none is. Use --device cpu.")
    features, target = make_data(args.rows, args.features, args.seed)
    naive = measure_naive(features, target, args)
    ours = measure_ours(features, target, args)
    results = {"naive": naive, "ours": ours, "ratio": ours["rows_per_s"] / naive["rows_per_s"]}
    run = record(MODULE, argv, args, results, device, load)
    _print_table(run)
    if args.json:
        write_json(args.json, run)
    return run


def _summary(runs: list[tuple[int, float]], rows: int, timed: str, extrapolated: bool, load: CpuLoad) -> dict[str, Any]:
    rates = [n / seconds for n, seconds in runs]
    median = statistics.median(rates)
    return {
        "rows_per_s": median,
        "best_rows_per_s": max(rates),
        "epoch_seconds": rows / median,
        "runs": [{"rows": n, "seconds": seconds} for n, seconds in runs],
        "timed": timed,
        "epoch_seconds_extrapolated": extrapolated,
        "load": load.finish(),
    }


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _print_table(run: dict[str, Any]) -> None:
    s, r, m = run["settings"], run["results"], run["machine"]
    print(f"{s['rows']:,} rows x {s['features']} float32 features + target, batch {s['batch_size']}, shuffle")
    print(f"device {m['device']}, {m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch threads")
    print(f"{'loader':<38}{'rows/s (median)':>16}{'best rows/s':>14}{'epoch s':>10}{'others':>8}  timed")
    names = {"naive": "DataLoader(TensorDataset) [naive]", "ours": "DeviceLoader [ours]"}
    for key, name in names.items():
        row = r[key]
        epoch = f"{row['epoch_seconds']:.3f}" + ("*" if row["epoch_seconds_extrapolated"] else "")
        others = f"{row['load'].get('other_processes_cpu_share', float('nan')):.0%}"
        rates = f"{row['rows_per_s']:>16,.0f}{row['best_rows_per_s']:>14,.0f}"
        print(f"{name:<38}{rates}{epoch:>10}{others:>8}  {row['timed']}")
    print(f"ratio DeviceLoader / DataLoader (median rows/s): {r['ratio']:.1f}x")
    print("others: the share of all cores that other processes used meanwhile (timings on a busy machine vary)")
    if any(r[key]["epoch_seconds_extrapolated"] for key in names):
        print("* epoch seconds extrapolated from the batches timed")


def _parser() -> argparse.ArgumentParser:
    parser = base_parser(MODULE, __doc__.splitlines()[0])
    parser.add_argument("--rows", type=positive_int, default=1_000_000)
    parser.add_argument("--features", type=positive_int, default=32)
    parser.add_argument("--batch-size", type=positive_int, default=4096)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed DeviceLoader epochs")
    parser.add_argument("--naive-repeats", type=positive_int, default=1, help="timed DataLoader epochs")
    parser.add_argument("--naive-batches", type=non_negative_int, default=0, help="time only these DataLoader batches")
    parser.add_argument("--warmup-batches", type=non_negative_int, default=10, help="untimed DataLoader batches")
    return parser


if __name__ == "__main__":
    run_command(main)
