"""Scale-out on Dask: the cluster a run asks for, opened, checked and closed by whoever runs the stages.

    none         no cluster: today's single process (the default)
    local        a distributed.LocalCluster on this machine (processes, one thread each unless told otherwise)
    local-cuda   a dask_cuda.LocalCUDACluster: one worker per GPU, an RMM pool, cuDF spilling (the GPU backend's)
    ADDRESS      an existing scheduler (tcp://host:8786): reached within Dask's connect timeout (its setting
                 distributed.comm.timeouts.connect: 30 s, or DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT), and its
                 workers' package versions must match this process's

Every wait has a timeout; an unreachable scheduler or mismatched workers are a ConfigError (exit 2) naming what
was found. The RAPIDS part (dask_cuda) lives in the backend package.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Iterator
from typing import Any

from pipelines.cluster.quiet_worker import QUIET
from pipelines.config import ClusterSpec, check_backend, check_cluster, connect_timeout, partition_bytes
from pipelines.errors import ClusterError, ConfigError

# Packages whose versions must agree between the client and every worker, and Python itself.
CHECKED = ("dask", "distributed", "numpy", "pandas", "pyarrow", "scikit-learn", "xgboost", "torch")


def partition_count(frame_bytes: int, partition_size: str, workers: int) -> int:
    """Partitions for data of `frame_bytes`: one per `partition_size`, and at least one per worker."""
    size = partition_bytes(partition_size)
    return max(workers, 1, -(-int(frame_bytes) // size))


def scatter_frame(client: Any, frame: Any, partition_size: str, target: Any = None) -> tuple[Any, Any]:
    """A frame of this process (pandas or cuDF) sent to the cluster's workers as consecutive row blocks of about
    `partition_size` (at least one per worker), as a Dask DataFrame in row order; with `target` (a series of the
    same rows), the Dask Series of it in the same blocks. The blocks are scattered to the workers, not embedded
    in the task graph."""
    import dask.dataframe as dd

    frame_bytes = int(frame.memory_usage(deep=True).sum())
    count = max(1, min(len(frame), partition_count(frame_bytes, partition_size, len(client.nthreads()))))
    bounds = list(itertools.pairwise(len(frame) * i // count for i in range(count + 1)))
    features = client.scatter([frame.iloc[start:end] for start, end in bounds])
    features = dd.from_delayed(features, meta=frame.iloc[:0], verify_meta=False)
    if target is None:
        return features, None
    pieces = client.scatter([target.iloc[start:end] for start, end in bounds])
    return features, dd.from_delayed(pieces, meta=target.iloc[:0], verify_meta=False)


@contextlib.contextmanager
def worker_losses(what: str) -> Iterator[None]:
    """Work on the cluster whose worker dies (killed, out of memory, its machine lost) ends in a ClusterError
    saying so, instead of Dask's or XGBoost's own exception."""
    import asyncio
    import concurrent.futures

    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    # A future whose data went with its worker is cancelled (distributed's FutureCancelledError is a
    # concurrent.futures.CancelledError); a task that killed its workers is a KilledWorker.
    lost: tuple[type[BaseException], ...] = (
        asyncio.CancelledError,
        concurrent.futures.CancelledError,
        KilledWorker,
        CommClosedError,
    )
    try:
        from xgboost.core import XGBoostError

        lost += (XGBoostError,)
    except ImportError:  # pragma: no cover - xgboost is a dependency
        pass
    try:
        yield
    except lost as exc:
        raise ClusterError(
            f"{what} stopped: a Dask worker was lost ({type(exc).__name__}: {str(exc)[:300]}). Nothing of the run "
            "was kept. A worker killed for memory is the usual cause (its log says so): run again with a smaller "
            "--partition-size or more workers, or on --cluster none."
        ) from exc


@contextlib.contextmanager
def open_cluster(spec: ClusterSpec, timeout: float | None = None) -> Iterator[Any]:
    """A dask.distributed Client for `spec` (None for `none`), closed with its local cluster on the way out. Every
    wait is bounded by `timeout` seconds (default: Dask's connect timeout, `connect_timeout()`)."""
    if spec.kind == "none":
        yield None
        return
    from distributed import Client, LocalCluster

    timeout = connect_timeout() if timeout is None else timeout

    # A local cluster's scheduler runs in this process and logs every worker's comings and goings at INFO, and
    # dask-expr's shuffles (a target's distinct values, say) each start and end as warnings: not the user's.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    if spec.kind == "address":
        client = _connect(spec.address, timeout)
        cluster = None
    else:
        if spec.kind == "local-cuda":
            from pipelines.backend.gpu_cluster import local_cuda_cluster  # dask-cuda: only on a GPU machine

            cluster = local_cuda_cluster(spec.n_workers)
        else:
            # Its workers log a failed task's traceback ("Compute Failed", at ERROR): the run reports the error itself.
            # dashboard ":0": a free port (None would still take 8787, warning when another cluster holds it)
            options = {"threads_per_worker": 1, "dashboard_address": ":0", "silence_logs": logging.CRITICAL}
            options["preload"] = [QUIET]  # Ctrl-C stops this process, which closes the workers
            cluster = LocalCluster(n_workers=spec.n_workers or 2, processes=True, **options)
        client = Client(cluster, timeout=timeout)
    try:
        if cluster is None:
            check_versions(client.get_versions(packages=list(CHECKED)))
        yield client
    finally:
        client.close(timeout=timeout)
        if cluster is not None:
            close_local(cluster, timeout)


def close_local(cluster: Any, timeout: float | None = None) -> None:
    """A cluster this process started, closed. A worker process still ending 4 s after its nanny asked it to (on a
    loaded machine) is killed, as Dask does, without Dask's warning: the work is over, and nothing is left running."""
    nanny = logging.getLogger("distributed.nanny")
    level = nanny.level
    nanny.setLevel(logging.ERROR)
    try:
        cluster.close(timeout=timeout)
    finally:
        nanny.setLevel(level)


@contextlib.contextmanager
def cluster_of(config: Any, backend: str) -> Iterator[Any]:
    """The Dask client of a run (None without --cluster): its settings checked against the chosen backend
    ("cpu" | "gpu"), the cluster opened, and closed on the way out."""
    spec = check_cluster(config)
    check_backend(spec, backend)  # with --backend auto, the backend is only known once selected
    with open_cluster(spec) as client:
        yield client


def describe(client: Any) -> str:
    """One line on a client's cluster: the scheduler's address and its workers' threads and memory."""
    info = client.scheduler_info(n_workers=-1)
    workers = info.get("workers", {}).values()
    memory = sum(w.get("memory_limit", 0) or 0 for w in workers) / 2**30
    threads = sum(w.get("nthreads", 0) for w in workers)
    return f"{info.get('address')}: {len(workers)} workers, {threads} threads, {memory:.1f} GiB memory limit in all"


def _connect(address: str, timeout: float) -> Any:
    """A client of the scheduler at `address` once it has a worker; ConfigError within about `timeout` s."""
    from distributed import Client

    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"Could not reach the Dask scheduler at {address} within {timeout:g} s ({type(exc).__name__}: {exc}). "
            "Check the address and that `dask scheduler` is running there, or use --cluster local."
        ) from exc
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError as exc:
        client.close(timeout=timeout)
        raise ConfigError(
            f"The Dask scheduler at {address} has no workers after {timeout:g} s: start them with "
            f"`dask worker {address}` on the machines that should do the work, or use --cluster local."
        ) from exc
    return client


def check_versions(versions: dict[str, Any]) -> None:
    """A ConfigError listing every worker whose Python or CHECKED package differs from this process's."""
    mine = _versions(versions["client"])
    differ = []
    for worker, info in sorted(versions.get("workers", {}).items()):
        theirs = _versions(info)
        differ += [
            f"{worker}: {name} {theirs.get(name)} (here {mine[name]})"
            for name in mine
            if theirs.get(name) != mine[name]
        ]
    if differ:
        shown = "; ".join(differ[:20]) + (f"; and {len(differ) - 20} more" if len(differ) > 20 else "")
        raise ConfigError(
            f"The cluster's workers run other package versions than this process: {shown}. Install the same "
            "versions on every worker (one environment file for all), or run with --cluster local."
        )


def _versions(info: dict[str, Any]) -> dict[str, Any]:
    """python and the CHECKED packages of one entry of Client.get_versions()."""
    packages = info.get("packages", {})
    return {"python": info.get("host", {}).get("python"), **{name: packages.get(name) for name in CHECKED}}
