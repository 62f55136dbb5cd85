"""An audit of the pandas API the library calls, against cuDF, without a device.

The CPU pipeline runs under a recorder (tests/gpu/pandas_audit.py) that notes each pandas method called from
pipelines/ and the keywords it was given: the default job, a table of your own with every kind of column (a CSV
with text timestamps and a time column, nulls, integers, booleans, categories) trained and then scored with its
drift, and the same table read in partitions on a Dask cluster whose workers are threads of this process. Each
recorded call is then checked against cuDF's class of the same role: the method exists, takes those keywords,
and is not one of the stubs cuDF keeps only to refuse (iteration, `tolist`, `__array__`: a body that only
raises). A call that fails belongs in the backend (pipelines/backend) or must be written another way.

Code that only ever holds pandas frames, whatever the backend, is left out by file (HOST_ONLY, with the reason).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.gpu.pandas_audit import Calls, recording

pytestmark = pytest.mark.rapids_api

# Files whose pandas calls are on host frames on every backend.
HOST_ONLY = {
    "pipelines/datasets/nycflights13.py": "stages the flights tables with pandas before any backend is chosen",
    "pipelines/datasets/synth.py": "writes synthetic flights with pandas/pyarrow",
    "pipelines/backend/cpu.py": "the CPU backend itself",
    "pipelines/report/": "the report reads host copies (Backend.to_pandas / to_numpy) of small tables",
    "pipelines/runs/": "run folders, manifests and the listing: host documents",
}


def _cudf_classes() -> dict[str, type]:
    import cudf
    from cudf.core.accessors.categorical import CategoricalAccessor
    from cudf.core.accessors.string import StringMethods
    from cudf.core.groupby.groupby import DataFrameGroupBy, SeriesGroupBy
    from cudf.core.series import DatetimeProperties

    return {
        "Series": cudf.Series,
        "DataFrame": cudf.DataFrame,
        "Index": cudf.Index,
        "RangeIndex": cudf.RangeIndex,
        "DatetimeIndex": cudf.DatetimeIndex,
        "DataFrameGroupBy": DataFrameGroupBy,
        "SeriesGroupBy": SeriesGroupBy,
        "StringMethods": StringMethods,
        "DatetimeProperties": DatetimeProperties,
        "CategoricalAccessor": CategoricalAccessor,
    }


def refuses(function) -> bool:
    """True for a function whose body (past its docstring) is a single `raise`: cuDF's refusing stubs."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    if code is None:  # compiled: not a stub written in Python
        return False
    tree = ast.parse(Path(code.co_filename).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and code.co_firstlineno in (
            node.lineno,
            *(d.lineno for d in node.decorator_list),
        ):
            body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            return len(body) == 1 and isinstance(body[0], ast.Raise)
    return False


def problems_of(calls: Calls, cudf_classes: dict[str, type]) -> list[str]:
    """One line per recorded call cuDF would not take, naming where it was called from."""
    problems = []
    for (role, method), keyword_sets in sorted(calls.keywords.items()):
        sites = sorted(s for s in calls.sites[(role, method)] if not s.startswith(tuple(HOST_ONLY)))
        if not sites:
            continue
        where = ", ".join(sites)
        target = cudf_classes[role]
        function = getattr(target, method, None)
        name = f"cudf {target.__name__}.{method}"
        if function is None:
            problems.append(f"{where}: {name} does not exist")
            continue
        if refuses(function):
            problems.append(f"{where}: {name} only raises (cuDF refuses it)")
            continue
        for keywords in keyword_sets:
            missing = _missing_keywords(function, keywords)
            if missing:
                problems.append(f"{where}: {name} takes no {missing}")
    return problems


def _missing_keywords(function, keywords: frozenset[str]) -> list[str]:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    return sorted(k for k in keywords if k not in parameters)


@pytest.fixture(scope="module")
def rapids():
    try:
        import cudf  # noqa: F401
    except Exception as exc:
        pytest.skip(f"RAPIDS is not installed here ({type(exc).__name__}: {exc}); pip install '.[gpu-cu13]'")


def _every_kind_of_column(path, rows: int = 12000) -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "when": pd.date_range("2024-01-01", periods=rows, freq="h").strftime("%Y-%m-%dT%H:%M:%S"),
            "logged": pd.date_range("2023-06-01", periods=rows, freq="37min").strftime("%Y-%m-%d %H:%M"),
            "amount": rng.lognormal(3, 0.5, rows),
            "visits": rng.integers(0, 40, rows),
            "member": rng.random(rows) < 0.3,
            "plan": rng.choice(["basic", "plus", "pro", None], rows),
            "city": rng.choice([f"c{i}" for i in range(300)], rows),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "amount"] = np.nan
    frame["churned"] = ((frame["amount"].fillna(20) / 20 + frame["member"] + rng.normal(size=rows)) > 1.5).astype(int)
    frame.to_csv(path, index=False)


@pytest.fixture(scope="module")
def recorded(rapids, prefect_harness, flights_dir, tmp_path_factory) -> Calls:
    from distributed import LocalCluster

    from flows.score import score
    from flows.train import train
    from pipelines.config import RunConfig

    folder = tmp_path_factory.mktemp("audit")
    table = folder / "table.csv"
    _every_kind_of_column(table)
    common = {"epochs": 1, "backend": "cpu", "cache": False, "data_dir": str(folder / "data")}
    own = {"data": str(table), "target": "churned", "time_column": "when", **common}
    with recording() as calls:
        flights = {**common, "data_dir": str(flights_dir), "sample": 0.02}
        train(RunConfig(output=str(folder / "flights"), **flights), progress=False)
        run = train(RunConfig(output=str(folder / "own"), **own), progress=False)
        score(str(table), model=run, out=str(folder / "scores.parquet"), backend="cpu")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
            options = {"cluster": cluster.scheduler_address, "partition_size": "1MiB", "models": ["xgboost"]}
            train(RunConfig(output=str(folder / "cluster"), **own, **options), progress=False)
    return calls


def test_the_recorder_sees_the_data_path(recorded):
    """The run went through the feature ops, the loaders, the splits, scoring and the partitioned paths."""
    sites = {site.split(":")[0] for sites in recorded.sites.values() for site in sites}
    assert {
        "pipelines/features/workflow.py",
        "pipelines/data/timestamps.py",
        "pipelines/data/split.py",
        "pipelines/data/profile.py",
        "pipelines/cluster/partitions.py",
    } <= sites, "\n".join(sorted(sites))
    assert len(recorded.keywords) > 40


def test_every_pandas_call_of_the_data_path_is_one_cudf_takes(recorded):
    problems = problems_of(recorded, _cudf_classes())
    assert not problems, "\n".join(problems)


def test_the_audit_fails_a_call_cudf_refuses_or_lacks(rapids):
    """What the audit must catch: Series.items (cuDF's iteration alias: it only raises), a method cuDF lacks, a
    keyword cuDF does not take."""
    calls = Calls()
    calls.add("Series", "items", frozenset(), "pipelines/features/workflow.py:1")
    calls.add("Series", "to_xarray", frozenset(), "pipelines/features/workflow.py:2")
    calls.add("Series", "map", frozenset({"func"}), "pipelines/features/workflow.py:3")
    calls.add("Series", "items", frozenset(), "pipelines/report/data.py:4")  # host only: not a problem
    problems = dict(p.split(": ", 1) for p in problems_of(calls, _cudf_classes()))
    assert problems == {
        "pipelines/features/workflow.py:1": "cudf Series.items only raises (cuDF refuses it)",
        "pipelines/features/workflow.py:2": "cudf Series.to_xarray does not exist",
        "pipelines/features/workflow.py:3": "cudf Series.map takes no ['func']",
    }
