"""Training rows that the processes of a distributed training run (pipelines.training.distributed.trainer) fetch from
the run's Dask cluster themselves.

A run with --cluster keeps the training features on the cluster's workers (FeatureSet.on_workers). There, the
parent does not copy each process's shard into shared memory: it publishes the partitions on the scheduler
(`published`) and gives each process a `ClusterShare`, the same contiguous rows
`pipelines.training.distributed.trainer.shard_rows` would cut. The process connects to the scheduler, fetches the
partitions that hold its rows (received on its own GPU: `_use_device`), hands their columns to torch zero-copy as
the handoff stage does (pipelines.training.handoff.device_data) and assembles them on its own device. Every wait is
bounded by the run's timeout; a worker lost meanwhile is a ClusterError naming the process.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from pipelines.backend import Backend, cpu_backend, joined
from pipelines.backend.gpu import gpu_backend
from pipelines.cluster.client import worker_losses
from pipelines.cluster.partitions import cut, partition_lengths
from pipelines.errors import ClusterError
from pipelines.training.handoff import device_data
from pipelines.training.types import DeviceData


@dataclass(frozen=True)
class Columns:
    """The feature columns as the handoff reads them (the fitted workflow's lists, without its state)."""

    numeric_: list[str]
    categorical_: list[str]

    @property
    def columns(self) -> list[str]:
        return self.numeric_ + self.categorical_


@dataclass(kw_only=True, frozen=True)
class ClusterRows:
    """The training rows on a cluster: partitions of features and of the target (the same rows), in row order,
    published on its scheduler."""

    address: str  # the scheduler's
    dataset: str  # the name the partitions are published under: {"frames": [futures], "targets": [futures]}
    lengths: tuple[int, ...]  # rows per partition
    columns: Columns
    backend: str  # the frames' backend, "cpu" or "gpu": its handoff gives the tensors
    scale: tuple[float, float]  # the regression target's mean and std over all training rows (pipelines.training.loop)

    def __len__(self) -> int:
        return sum(self.lengths)

    @property
    def device_type(self) -> str:
        return "cuda" if self.backend == "gpu" else "cpu"

    def shares(self, bounds: list[int]) -> list[ClusterShare]:
        """One share per pair of consecutive row numbers in `bounds`."""
        return [ClusterShare(self, lo, hi) for lo, hi in itertools.pairwise(bounds)]


@dataclass(frozen=True)
class ClusterShare:
    """Rows start..stop-1 of `rows`: one training process's shard, fetched by that process (`fetch`)."""

    rows: ClusterRows
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start

    def pieces(self) -> list[tuple[int, int, int]]:
        """(partition, first row, row past the last) within each partition that holds rows of this share."""
        return cut(list(self.rows.lengths), self.start, self.stop)

    def fetch(self, device: torch.device, timeout: float, rank: int) -> DeviceData:
        """The share as DeviceData on `device`, fetched from the workers that hold it."""
        from distributed import wait

        rows, pieces = self.rows, self.pieces()
        with worker_losses(f"Training process {rank} fetching its rows"), _client(rows.address, timeout) as client:
            if device.type == "cuda":
                client.sync(_use_device, device.index)
            published = client.get_dataset(rows.dataset)
            futures = [published[name][i] for name in ("frames", "targets") for i, _, _ in pieces]
            try:
                wait(futures, timeout=timeout)
            except TimeoutError:
                raise ClusterError(
                    f"Training process {rank} waited {timeout:g} s for its rows on the Dask cluster at "
                    f"{rows.address} and they did not come: the cluster no longer holds them, or is overloaded."
                ) from None
            fetched = client.gather(futures)
        frames, targets = fetched[: len(pieces)], fetched[len(pieces) :]
        frame = joined([part.iloc[a:b] for part, (_, a, b) in zip(frames, pieces, strict=True)])
        target = joined([part.iloc[a:b] for part, (_, a, b) in zip(targets, pieces, strict=True)])
        data, _, _ = device_data(frame, rows.columns, process_backend(rows.backend), target, check_nulls=False)
        return DeviceData(*(tensor.to(device) for tensor in (data.numeric, data.codes, data.y)))


async def _use_device(index: int) -> None:
    """The CUDA device `index` current in the client's event-loop thread and in Dask's offload thread, where the
    cuDF partitions it receives are deserialised (the offload thread for messages over `distributed.comm.offload`):
    they land on this process's GPU, not on GPU 0, each thread's device until it is set (unverified on a GPU)."""
    from distributed.utils import offload  # here: this module imports in processes that never fetch

    torch.cuda.set_device(index)
    await offload(torch.cuda.set_device, index)


def process_backend(name: str) -> Backend:
    """This process's backend of that name (on the GPU: on torch's current device, this process's own)."""
    if name == "gpu":
        return gpu_backend()
    return cpu_backend()


@contextlib.contextmanager
def _client(address: str, timeout: float) -> Iterator[Any]:
    from distributed import Client

    client = Client(address, timeout=timeout)  # the process's only client: distributed.wait takes the default
    try:
        yield client
    finally:
        client.close(timeout=timeout)


@contextlib.contextmanager
def published(
    client: Any, on_workers: Any, columns: Columns, backend: Backend, scale: tuple[float, float]
) -> Iterator[ClusterRows]:
    """The training rows a run keeps on the workers (pipelines.features.feature_set.OnWorkers) as ClusterRows: their
    partitions published on the scheduler for the training processes to fetch, until the block ends."""
    frames = client.compute(on_workers.frame.to_delayed())
    targets = client.compute(on_workers.target.to_delayed())
    lengths = partition_lengths(on_workers.frame)
    name = f"devicepipe-train-{uuid.uuid4().hex}"
    client.publish_dataset(**{name: {"frames": frames, "targets": targets}})
    try:
        yield ClusterRows(
            address=client.scheduler.address,
            dataset=name,
            lengths=tuple(lengths),
            columns=columns,
            backend=backend.name,
            scale=scale,
        )
    finally:
        with contextlib.suppress(KeyError):
            client.unpublish_dataset(name)
