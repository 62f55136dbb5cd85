"""Where a run's rows live, decided once when the run starts: frames in this process (`InProcess`), or partitions
held on the workers of a Dask cluster (`OnDaskWorkers`, a run with --cluster). The stages and the model families
are given one and ask it what to do with their rows; none of them asks whether there is a cluster.

    read          an input as frames here, or as numbered partitions read on the workers
                  (pipelines.data.read_partitioned)
    check_fits    the memory check before a row is read: this process's memory, or none (each worker has its limit)
    working       work on the rows: as is, or on the cluster with a lost worker turned into a ClusterError
    hold          a frame as is, or a dask DataFrame computed and held on the workers for the next passes
    spread        a frame as is, or sent to the workers in row blocks of about --partition-size
    client        the Dask client (None in this process): what a family with a Dask interface fits with
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.backend import Backend
from pipelines.cluster.client import cluster_of, describe, scatter_frame, worker_losses
from pipelines.cluster.memory import cluster_record
from pipelines.cluster.partitions import is_partitioned, persisted
from pipelines.data.footprint import check_fits, input_bytes
from pipelines.data.load import load
from pipelines.data.read_partitioned import load_partitioned


class InProcess:
    """Every row in this process, as one frame of the backend's (pandas or cuDF)."""

    client: Any = None
    workers = 0

    def describe(self) -> str:
        return "this process"

    def read(self, source: Any, backend: Backend, columns: list[str] | None = None) -> Any:
        return load(source, backend, columns)

    def check_fits(self, inputs: list[Path], factor: float, fraction: float, backend: Backend, what: str) -> None:
        """A DataError before the load when the run cannot fit in this process (pipelines.data.footprint)."""
        check_fits(input_bytes(inputs), factor, fraction, backend, what)

    @contextlib.contextmanager
    def working(self, what: str) -> Iterator[None]:
        yield

    def hold(self, frame: Any) -> Any:
        return frame

    def spread(self, frame: Any) -> Any:
        return frame

    def memory_record(self, setting: str) -> dict[str, Any] | None:
        """The workers and their peak memory for the manifest: none here."""
        return None


class OnDaskWorkers(InProcess):
    """The rows in partitions on the workers of `client`'s cluster, about `partition_size` each."""

    def __init__(self, client: Any, partition_size: str):
        self.client = client
        self.partition_size = partition_size
        self.workers = len(client.nthreads())

    def describe(self) -> str:
        return f"the workers of the Dask cluster: {describe(self.client)}"

    def read(self, source: Any, backend: Backend, columns: list[str] | None = None) -> Any:
        return load_partitioned(source, backend, self.partition_size, columns)

    def check_fits(self, inputs: list[Path], factor: float, fraction: float, backend: Backend, what: str) -> None:
        """Nothing to check here: the rows are read on the workers, whose own memory limits apply."""

    @contextlib.contextmanager
    def working(self, what: str) -> Iterator[None]:
        """Dask work inside runs on this cluster; a worker lost under it is a ClusterError saying `what` failed."""
        with worker_losses(what), self.client.as_current():
            yield

    def hold(self, frame: Any) -> Any:
        return persisted(frame)

    def spread(self, frame: Any) -> Any:
        if is_partitioned(frame):
            return frame
        return scatter_frame(self.client, frame, self.partition_size)[0]

    def memory_record(self, setting: str) -> dict[str, Any] | None:
        return cluster_record(self.client, setting)


Placement = InProcess  # the type the stages take: InProcess or OnDaskWorkers
IN_PROCESS = InProcess()


@contextlib.contextmanager
def placement_of(config: Any, backend: str) -> Iterator[Placement]:
    """Where the rows of a run with `config` live, on the backend chosen ("cpu" | "gpu"): with --cluster, the
    cluster is opened (its settings checked against the backend) and closed on the way out."""
    with cluster_of(config, backend) as client:
        yield IN_PROCESS if client is None else OnDaskWorkers(client, config.partition_size)
