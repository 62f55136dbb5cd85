"""What every benchmark records beside its numbers (the machine, the versions, the command, the date), and how
the benchmark commands parse their arguments and report user errors.

Each run is written as one JSON object, so that a figure in docs/benchmarks.md can be traced to where it came from.
torch and devicepipe's backend are imported only when a record describes its machine: benchmarks/peer.py (Polars +
XGBoost) imports this module before its timed work and must not pay for torch there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import ConfigError, DataError, DevicepipeError  # noqa: F401 (the peer's user errors)

if TYPE_CHECKING:
    import torch


def machine(device: torch.device | None) -> dict[str, Any]:
    """CPU model, cores, memory, torch threads, library versions and, for CUDA, the card (None: the CPU)."""
    # start-up time: torch and the backend are imported once a benchmark describes its machine, after its work
    import torch

    from pipelines.backend import library_versions

    device = torch.device("cpu") if device is None else device
    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "versions": library_versions(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def record(
    module: str,
    argv: list[str],
    args: argparse.Namespace,
    results: dict[str, Any],
    device: torch.device | None,
    load: CpuLoad,
) -> dict[str, Any]:
    """One benchmark run: what was run (as a command line), where, when, under what load, what it measured."""
    return {
        "benchmark": module.rpartition(".")[2],
        "command": shlex.join(["python", "-m", module, *argv]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(device), "load": load.finish()},
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "results": results,
    }


class CpuLoad:
    """How busy the machine was with other work while a benchmark ran: timings on a shared machine vary with it.

    `other_processes_cpu_share` is the CPU time of everything but this process over the run, as a share of all
    cores (0: the machine was ours; 0.5 on 2 cores: one core busy elsewhere), from /proc/stat (Linux).
    """

    def __init__(self) -> None:
        self.load_average = list(os.getloadavg())
        self.busy, self.total, self.own = _cpu_times()

    def finish(self) -> dict[str, Any]:
        busy, total, own = _cpu_times()
        result: dict[str, Any] = {"load_average_at_start": self.load_average}
        if total is not None and self.total is not None and total > self.total:
            other = max(0.0, (busy - self.busy) - (own - self.own))
            result["other_processes_cpu_share"] = round(other / (total - self.total), 3)
        return result


def _cpu_times() -> tuple[float | None, float | None, float]:
    """All cores' busy and total seconds since boot (None off Linux), and the CPU seconds of this process and of
    its children that have ended (a benchmark's worker processes are its own work, not other load)."""
    times = os.times()
    own = times.user + times.system + times.children_user + times.children_system  # workers waited for count too
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None, None, own
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    busy = (user + nice + system + irq + softirq + steal) / tick
    return busy, busy + (idle + iowait) / tick, own


def base_parser(
    module: str, description: str, threads_help: str = "torch.set_num_threads (default: torch's)"
) -> argparse.ArgumentParser:
    """The arguments every benchmark takes: --threads, --seed, --json."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--threads", type=positive_int, default=None, help=threads_help)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the results here as JSON")
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse `argv` and apply --threads (torch's thread count is process-wide)."""
    args = parser.parse_args(argv)
    if args.threads:
        # start-up time: only the benchmarks that pass --threads pay for torch here
        import torch

        torch.set_num_threads(args.threads)
    return args


def process_seconds() -> float | None:
    """Seconds since this process started (its interpreter's start-up included), from /proc/self/stat (Linux, in
    clock ticks of 10 ms); None elsewhere."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # starttime: the 22nd field, ticks after boot
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def write_json(path: Path, run: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=2) + "\n")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: an integer of at least 0."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, minimum: int) -> int:
    value = int(text)
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected an integer of at least {minimum}, found {text}")
    return value


def run_command(main: Callable[[], Any]) -> None:
    """Run a benchmark's `main` as a command: a user error prints one line and exits 2, no traceback."""
    try:
        main()
    except DevicepipeError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
