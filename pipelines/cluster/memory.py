"""Peak resident memory of this process and of a Dask cluster's workers (Linux: /proc/self/status's VmHWM).

A run with --cluster records each worker's peak in its manifest (`cluster.worker_peak_bytes`), and
`benchmarks.stages --cluster` resets and reads them around every stage. Elsewhere (no /proc) a peak is None.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def peak_bytes() -> int | None:
    """This process's peak resident memory since it started or since the last `reset_peak`, in bytes."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak() -> None:
    """Start a new peak: writing 5 to /proc/self/clear_refs resets VmHWM to the current resident size."""
    with contextlib.suppress(OSError):
        CLEAR_REFS.write_text("5")


def worker_peaks(client: Any) -> dict[str, int | None]:
    """Each worker's `peak_bytes`, by the worker's address."""
    return dict(sorted(client.run(peak_bytes).items()))


def reset_worker_peaks(client: Any) -> None:
    """`reset_peak` on every worker."""
    client.run(reset_peak)


def describe_peaks(peaks: dict[str, int | None]) -> str:
    """ "2 workers: 3.10 GiB, 2.90 GiB" (unknown where a worker has no /proc)."""
    shown = [f"{peak / 2**30:.2f} GiB" if peak is not None else "unknown" for peak in peaks.values()]
    return f"{len(peaks)} workers: {', '.join(shown)}"


def cluster_record(client: Any, cluster: str) -> dict[str, Any] | None:
    """What a run's manifest says of its cluster (None without one): --cluster, the workers, each one's peak."""
    if client is None:
        return None
    return {"cluster": cluster, "workers": len(client.nthreads()), "worker_peak_bytes": worker_peaks(client)}
