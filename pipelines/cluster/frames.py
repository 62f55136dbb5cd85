"""The frame an op is fitted on or applied to: one pandas or cuDF frame, or a dask DataFrame of such partitions.

`reduce` runs a function on every partition and merges the results pairwise in a tree (dask.delayed, on the
current dask scheduler: a distributed Client when one is active); over one frame it is that function once, so
both paths run the same code. `map` applies a function to every partition, with its meta from the empty frame.
dask is imported only when given a dask DataFrame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.cluster.partitions import is_partitioned, persisted


class Frames:
    """One frame or a dask DataFrame, reduced and mapped alike."""

    def __init__(self, frame: Any):
        self.frame = frame
        self.partitioned = is_partitioned(frame)

    @property
    def sample(self) -> Any:
        """A frame with the columns and dtypes: the frame itself, or the dask DataFrame's empty meta."""
        return self.frame._meta if self.partitioned else self.frame

    def reduce(self, chunk: Callable[..., Any], merge: Callable[[Any, Any], Any], *args: Any) -> Any:
        """`chunk(partition, *args)` for each partition, merged pairwise with `merge` until one is left."""
        if not self.partitioned:
            return chunk(self.frame, *args)
        import dask

        level = [dask.delayed(chunk)(part, *args) for part in self.frame.to_delayed()]
        while len(level) > 1:
            pairs = [dask.delayed(merge)(a, b) for a, b in zip(level[::2], level[1::2], strict=False)]
            level = pairs + level[2 * len(pairs) :]
        return dask.compute(level[0])[0]

    def map(self, function: Callable[..., Any], *args: Any) -> Any:
        """`function(partition, *args)` over every partition: a frame, or a lazy dask DataFrame."""
        if not self.partitioned:
            return function(self.frame, *args)
        meta = function(self.frame._meta, *args)
        return self.frame.map_partitions(function, *_shipped(args), meta=meta)

    def persist(self) -> Any:
        """The dask DataFrame computed and held (on the cluster's workers) for the next passes; a frame as is."""
        return persisted(self.frame)


def _shipped(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """`args` with each frame or series (a lookup table, the fitted counts) sent to every worker of the current
    distributed Client once, as a future, instead of inside the task graph (megabytes, once per map); as they
    are without a Client (dask's local scheduler)."""
    if not any(_is_data(arg) for arg in args):
        return args
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):  # no Client: the graph stays in this process
        return args
    return tuple(client.scatter(arg, broadcast=True, hash=False) if _is_data(arg) else arg for arg in args)


def _is_data(arg: Any) -> bool:
    """A frame, series or array (not a scalar, which has a dtype too)."""
    return (hasattr(arg, "dtypes") or hasattr(arg, "dtype")) and hasattr(arg, "__len__")


def takes_partitions(method: Callable[..., Any]) -> Callable[..., Any]:
    """Marks an op's transform that takes a dask DataFrame itself (it needs statistics of the whole frame);
    the workflow maps every other transform over the partitions."""
    method.takes_partitions = True  # type: ignore[attr-defined]
    return method


def apply(op: Any, frame: Any, train: bool) -> Any:
    """`op.transform_train(frame)` (train) or `op.transform(frame)`, over each partition of a dask DataFrame."""
    method = op.transform_train if train else op.transform
    if not is_partitioned(frame) or getattr(method, "takes_partitions", False):
        return method(frame)
    return Frames(frame).map(_call, method)


def _call(frame: Any, method: Callable[[Any], Any]) -> Any:
    return method(frame)
