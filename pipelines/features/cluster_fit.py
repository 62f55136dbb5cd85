"""A feature workflow fitted and applied on a Dask cluster: the calls a flow makes with the Client that
`pipelines.cluster.client.open_cluster` gives (None: this process, today's path).

The training split is a dask DataFrame of pandas partitions (dask_cudf's cuDF partitions are the GPU backend's
business and unverified here). Each op is fitted with one tree reduce of its statistics over the partitions, plus
a few counting passes for exact medians and quantiles; its transform is mapped over the partitions. The fitted
state is the same as a single frame's, saved as the same JSON + Parquet (`Workflow.save`), and does not depend
on the partitioning. Target-encoding folds hash each row's index: give the training split the index the split
stage gave it (`dask.dataframe.from_pandas` keeps it; files read partitioned need a global row number first).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from pipelines.data.split import Part
from pipelines.features.workflow import Workflow


def fit_features(workflow: Workflow, train: Any, client: Any = None) -> tuple[Workflow, Any]:
    """Fit `workflow` on `train` (a frame or a dask DataFrame; a Part named "train" too) on `client`'s cluster;
    returns the fitted workflow and the training split's features (out-of-fold where an op uses the target): a
    dask DataFrame held on the workers when given one."""
    part = train if isinstance(train, Part) else Part("train", train)
    with _on(client):
        features = workflow.fit_features(part)
    return workflow, features


def transform_features(workflow: Workflow, data: Part | Any, client: Any = None) -> Any:
    """The features of another split (or new rows) from the fitted state, mapped over the partitions of a dask
    DataFrame (lazily: compute or persist it on `client`'s cluster)."""
    with _on(client):
        return workflow.transform(data)


@contextlib.contextmanager
def _on(client: Any) -> Iterator[None]:
    """Dask work inside runs on `client`'s cluster (the default Client, or dask's local scheduler, without one)."""
    if client is None:
        yield
        return
    with client.as_current():
        yield
