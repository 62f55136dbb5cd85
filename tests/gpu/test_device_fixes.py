"""What only a device can confirm of the GPU path's fixes: the first tests tier 2 of benchmarks/gpu_check.sh runs.

Each was found by reading the code against the RAPIDS sources; the no-device checks (tests/gpu/test_rapids_api.py,
tests/gpu/test_pandas_audit.py) catch their kind where RAPIDS is installed, and these run them on cuDF itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.cluster.frames import Frames
from pipelines.errors import DataError
from pipelines.features import FillMissing, GroupbyAggregate, Part, Standardize, Workflow
from pipelines.features.order import order_statistics

pytestmark = [pytest.mark.gpu, pytest.mark.rapids]

TIMESTAMPS = [
    "2024-01-31",
    " 2024-01-31T09:30:00+02:00",
    "2024-02-29 23:59:59.5Z",
    "2000-03-01T00:00-0530",
    "2024-02-30",
    "x",
    None,
]


def test_a_workflow_fits_transforms_and_checks_its_output_on_cudf(gpu):
    """The output check reads the null counts per column (cuDF refuses `Series.items`: they are copied first)."""
    frame = pd.DataFrame({"a": [1.0, None, 3.0, 4.0], "b": [1.0, 2.0, None, 4.0]})
    filled = Workflow([FillMissing(["a", "b"])]).fit(Part("train", gpu.from_pandas(frame)))
    assert not gpu.to_pandas(filled.transform(Part("valid", gpu.from_pandas(frame)))).isna().any().any()
    unfilled = Workflow([FillMissing(["a"]), Standardize(["a", "b"])])
    with pytest.raises(DataError, match=r"train still have nulls in \{'b': 1\}"):
        unfilled.fit(Part("train", gpu.from_pandas(frame)))


def test_iso_timestamps_parse_on_the_device_as_on_the_cpu(gpu, cpu):
    series = pd.Series(TIMESTAMPS, dtype="str")
    on_device = gpu.to_pandas(gpu.to_datetime(gpu.from_pandas(series.to_frame("t"))["t"]))
    expected = cpu.to_datetime(series).astype("datetime64[us]")
    pd.testing.assert_series_equal(on_device.rename(None), expected, check_dtype=False)


def test_local_cuda_workers_start_with_the_asynchronous_resource(gpu):
    from distributed import Client

    from pipelines.backend.gpu_cluster import local_cuda_cluster

    with local_cuda_cluster(1) as cluster, Client(cluster) as client:
        resources = client.run(lambda: type(__import__("rmm").mr.get_current_device_resource()).__name__)
    assert set(resources.values()) == {"CudaAsyncMemoryResource"}


def test_an_all_null_column_falls_back_to_zero_on_cudf(gpu):
    """cuDF gives the NA scalar for the mean of no values (NA == NA is not a bool)."""
    frame = pd.DataFrame({"k": ["a", "b", "a"], "x": [None, None, None]}).astype({"x": "float64"})
    op = GroupbyAggregate(["k"], ["x"], aggregations=("mean",)).fit(gpu.from_pandas(frame))
    assert op.fallback_ == {"k_x_mean": 0.0}


@pytest.mark.cuml
def test_a_reloaded_cuml_model_predicts_to_cupy(gpu):
    import cupy
    from sklearn.linear_model import LogisticRegression

    from pipelines.models.linear import LogisticRegression as Family

    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]}).astype("float32")
    model = LogisticRegression().fit(x, [0, 0, 1, 1])
    twin = gpu.device_estimator(model, Family.classes["classification"])
    assert isinstance(twin.predict_proba(gpu.from_pandas(x)), cupy.ndarray)


def test_order_statistics_of_one_cudf_frame_are_pandas_values(gpu):
    """Item 8 of the GPU path: one frame's order statistics are selected on the device (sorted there, only the
    wanted values copied), the same values as pandas'."""
    values = pd.Series(np.random.default_rng(0).normal(size=300_000)).where(lambda s: s > -2.5)
    count, ranks = int(values.notna().sum()), [0, 1, 150_000, 299_000]
    ranks = [r for r in ranks if r < count]
    found = order_statistics(Frames(gpu.from_pandas(values.to_frame("x"))), {"x": (count, ranks)})["x"]
    assert [found[r] for r in ranks] == [float(v) for v in np.sort(values.dropna().to_numpy())[ranks]]
