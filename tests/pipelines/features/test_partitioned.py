"""Feature ops fitted on the partitions of a dask DataFrame, on a real LocalCluster (127.0.0.1, two worker
processes of one thread): per op, the fitted state equals the single-process fit (ids, folds, counts exactly;
float statistics within 1e-12 relative) and the transformed rows equal the single-process ones, whatever the
partitioning (1, 3, 7, uneven, with empty partitions); then whole workflows (flights, a table typed by its
columns) fitted through `fit_features` and saved as the same JSON + Parquet."""

from __future__ import annotations

import itertools
import json
import math

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import get_task_stream

from pipelines.cluster.frames import apply
from pipelines.data.split import Part
from pipelines.data.target import TARGET
from pipelines.features import (
    Bucketize,
    Categorify,
    Clip,
    ConcatColumns,
    DatetimeParts,
    FillMissing,
    GroupbyAggregate,
    GroupCount,
    Join,
    Log1p,
    Op,
    Standardize,
    TargetEncode,
    Workflow,
)
from pipelines.features.base import is_table
from pipelines.features.cluster_fit import fit_features, transform_features
from pipelines.features.recipes import from_column_types

pytestmark = pytest.mark.slow

ROWS = 2400
RELATIVE = 1e-12  # float statistics merged over partitions, against the single pass


def _frame(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "carrier": rng.choice(
                ["UA", "AA", "DL", "B6", "WN", "EV", "MQ"], rows, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.06, 0.04]
            ),
            "origin": rng.choice(["JFK", "LGA", "EWR"], rows),
            "when": pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 20 * 24 * 60, rows), unit="min"),
            # Heavy tails and repeated values: sums whose order matters, quantiles on ties.
            "distance": np.round(rng.lognormal(6.5, 0.8, rows), 0),
            "delay": rng.standard_t(3, rows) * 30 + 1e6,
            "seats": rng.integers(50, 400, rows).astype("float64"),
            TARGET: (rng.random(rows) < 0.3).astype("float32"),
        }
    )
    frame.loc[rng.random(rows) < 0.08, "distance"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "carrier"] = None
    return frame


AIRPORTS = pd.DataFrame({"origin": ["JFK", "LGA", "EWR", "BOS"], "altitude": [13.0, 22.0, 18.0, 19.0]})
OPS = {
    "Bucketize": lambda: Bucketize(["distance", "delay"], bins=7),
    "Categorify": lambda: Categorify(["carrier", "origin"], min_count=30, max_categories=4),
    "Clip": lambda: Clip(["distance", "delay"], lower_quantile=0.013, upper_quantile=0.97),
    "ConcatColumns": lambda: ConcatColumns(["origin", "carrier"], name="pair"),
    "DatetimeParts": lambda: DatetimeParts("when", parts=("hour", "dayofweek"), cyclical=("hour",)),
    "FillMissing": lambda: FillMissing(["distance", "delay"]),
    "GroupCount": lambda: GroupCount(["origin"], time_column="when", period="h", earlier=True),
    "GroupbyAggregate": lambda: GroupbyAggregate(
        ["carrier", "origin"],
        ["distance", "delay"],
        aggregations=("count", "mean", "std", "min", "max", "median", "sum"),
    ),
    "Join": lambda: Join(AIRPORTS, on=["origin"], prefix="origin_"),
    "Log1p": lambda: Log1p(["delay"]),
    "Standardize": lambda: Standardize(["distance", "delay", "seats"]),
    "TargetEncode": lambda: TargetEncode(["carrier", "origin"], folds=5, smoothing=3.0),
    "TargetGroupbyAggregate": lambda: GroupbyAggregate(["carrier"], [TARGET], aggregations=("mean",), folds=3),
}
# Row bounds of the partitions: equal parts, uneven ones, and empty ones (first and in the middle).
PARTITIONINGS = {
    "1": [0, ROWS],
    "3": [0, 800, 1600, ROWS],
    "7": [round(i * ROWS / 7) for i in range(8)],
    "uneven": [0, 1, 18, 900, ROWS - 3, ROWS],
    "empty": [0, 0, 700, 700, ROWS],
}


def _partitioned(frame: pd.DataFrame, bounds: list[int]) -> dd.DataFrame:
    pieces = [dask.delayed(frame.iloc[a:b]) for a, b in itertools.pairwise(bounds)]
    return dd.from_delayed(pieces, meta=frame.iloc[:0], verify_meta=False)


def test_the_cases_cover_every_feature_op():
    covered = {type(make()).__name__ for make in OPS.values()}
    assert covered == {name for name, cls in Op.registry.items() if cls.__module__.startswith("pipelines.features")}


def _assert_same(a, b, where: str = "state") -> None:
    """Equal structures: tables and floats within RELATIVE, everything else (ids, counts, names) exactly."""
    if is_table(a):
        assert is_table(b), where
        a, b = a.reset_index(drop=True), b.reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=RELATIVE, atol=0, obj=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=RELATIVE, abs_tol=0) or (a != a and b != b), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b and type(a) is type(b), f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("partitioning", sorted(PARTITIONINGS))
@pytest.mark.parametrize("name", sorted(OPS))
def test_each_op_fits_and_transforms_the_same_on_partitions(client, name, partitioning):
    frame = _frame()
    single = OPS[name]().fit(frame)
    partitioned = _partitioned(frame, PARTITIONINGS[partitioning])
    with get_task_stream(client) as tasks:
        fitted = OPS[name]().fit(partitioned)
    _assert_same(single.get_state(), fitted.get_state(), name)
    expected = single.transform_train(frame)
    found = apply(fitted, partitioned, train=True).compute()
    outputs = [*single.outputs_, *(c for c in single.added_columns() if c not in single.outputs_)]
    assert outputs, f"{name} adds no column to compare"
    pd.testing.assert_frame_equal(found[outputs], expected[outputs], check_exact=True)
    # New rows (any split but train) from the fitted state, mapped over partitions.
    other = _frame(seed=7)
    mapped = apply(fitted, _partitioned(other, [0, 500, 500, ROWS]), train=False).compute()
    pd.testing.assert_frame_equal(mapped[outputs], single.transform(other)[outputs], check_exact=True)
    if type(fitted).partial is not Op.partial:  # the statistics were reduced on the cluster's workers
        assert tasks.data, f"{name} fitted without a task on the cluster"


def test_order_statistics_are_exact_where_a_sum_would_round(client):
    # Values that differ in the last bits of a large magnitude: any approximation shows.
    base = 1e15
    values = base + np.arange(-500, 501, dtype="float64") * 0.125
    frame = pd.DataFrame({"x": np.random.default_rng(3).permutation(values)})
    for q in (0.0, 0.001, 1 / 3, 0.5, 0.77, 1.0):
        clip = Clip(["x"], lower_quantile=q).fit(_partitioned(frame, [0, 13, 13, 600, len(frame)]))
        assert clip.bounds_["x"][0] == frame["x"].quantile(q)
    fill = FillMissing(["x"]).fit(_partitioned(frame.iloc[:-1], [0, 400, 999, 1000]))
    assert fill.fill_["x"] == frame["x"].iloc[:-1].median()


def test_folds_come_from_the_row_key_not_the_partition(client):
    frame = _frame()
    op = TargetEncode(["carrier"], folds=4)
    single = op.fit(frame).transform_train(frame)["carrier_te"]
    reordered = _partitioned(frame.iloc[::-1], [0, 5, 1200, ROWS])  # other partitions, rows in another order
    fitted = TargetEncode(["carrier"], folds=4).fit(reordered)
    found = apply(fitted, reordered, train=True).compute()["carrier_te"]
    pd.testing.assert_series_equal(found.sort_index(), single.sort_index(), check_exact=True)


@pytest.fixture(scope="module")
def flights_train(flights_dir):
    from pipelines.backend import cpu_backend
    from pipelines.data.load import load, resolve
    from pipelines.data.split import time_split
    from pipelines.data.target import encode_target
    from pipelines.datasets import flights
    from pipelines.datasets import flights_context as context

    raw, backend = flights_dir / "raw", cpu_backend()
    tables = {name: load(resolve(raw / f"{name}.parquet"), backend) for name in ("flights", "weather", "planes")}
    sample = tables["flights"].iloc[::80].reset_index(drop=True)  # about 4,200 flights, every month
    prepared = context.prepare(sample, tables["weather"], tables["planes"], backend)
    frame, _ = encode_target(prepared.frame, flights.TARGET, "classification", backend)
    return time_split(frame, flights.TIME_COLUMN, flights.VALID_START, flights.TEST_START)


def _assert_same_workflow(single: Workflow, fitted: Workflow, tmp_path) -> None:
    """The saved JSON documents and their Parquet tables alike (floats within RELATIVE)."""
    for name, workflow in (("single", single), ("partitioned", fitted)):
        (tmp_path / name).mkdir()
        workflow.save(tmp_path / name / "workflow.json")
    files = [Workflow.files(tmp_path / name / "workflow.json") for name in ("single", "partitioned")]
    assert [p.name for p in files[0]] == [p.name for p in files[1]]
    documents = [json.loads(f[0].read_text()) for f in files]
    _assert_same(documents[0], documents[1], "workflow.json")
    for a, b in zip(files[0][1:], files[1][1:], strict=True):
        _assert_same(pd.read_parquet(a), pd.read_parquet(b), a.name)


def test_the_flights_workflow_end_to_end_on_partitions(client, flights_train, tmp_path):
    from pipelines.datasets import flights

    train = flights_train["train"].frame
    assert len(train) > 2000
    single = flights.workflow().fit(Part("train", train))
    bounds = [0, 1, 1, 900, len(train) // 2, len(train)]
    fitted, features = fit_features(flights.workflow(), _partitioned(train, bounds), client=client)
    _assert_same_workflow(single, fitted, tmp_path)
    expected = single.transform(Part("train", train))
    pd.testing.assert_frame_equal(features.compute(), expected, check_exact=True)
    test = flights_train["test"].frame
    mapped = transform_features(fitted, _partitioned(test, [0, len(test) // 3, len(test)]), client=client)
    pd.testing.assert_frame_equal(mapped.compute(), single.transform(test), check_exact=True)


def test_a_table_typed_by_its_columns_end_to_end_on_partitions(client, tmp_path):
    rng = np.random.default_rng(11)
    rows = 3000
    frame = pd.DataFrame(
        {
            "shop": rng.choice([f"shop-{i:03d}" for i in range(120)], rows),
            "region": rng.choice(["north", "south", "east"], rows),
            "amount": rng.gamma(2.0, 50.0, rows),
            "visits": rng.integers(0, 30, rows),
            "opened": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D"),
            TARGET: (rng.random(rows) < 0.4).astype("float32"),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "amount"] = np.nan
    single, _ = from_column_types(Part("train", frame), exclude=[TARGET])
    assert any(isinstance(op, TargetEncode) for op in single.ops)
    single.fit(Part("train", frame))
    workflow, _ = from_column_types(Part("train", frame), exclude=[TARGET])
    fitted, features = fit_features(workflow, _partitioned(frame, [0, 1000, 1000, 1700, rows]), client=client)
    _assert_same_workflow(single, fitted, tmp_path)
    pd.testing.assert_frame_equal(features.compute(), single.transform(Part("train", frame)), check_exact=True)
