"""The peer benchmark (benchmarks.peer: Polars + XGBoost) on a few thousand synthetic flights, in both input layouts.
No timing asserts."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from datetime import datetime

import pandas as pd
import pytest

from benchmarks import peer
from pipelines.datasets import flights as recipe
from pipelines.datasets.flights_context import LEAKAGE
from pipelines.errors import DataError
from tests.conftest import ROOT, split_rows

pl = pytest.importorskip("polars")  # the dev extra installs it (the bench extra's)


def run_module(*args: str, hide_polars: bool = False) -> subprocess.CompletedProcess:
    """`python -m benchmarks.peer ARGS` in a fresh process (with polars made unimportable if asked)."""
    hide = "sys.modules['polars'] = None; " if hide_polars else ""
    code = f"import runpy, sys; {hide}runpy.run_module('benchmarks.peer', run_name='__main__', alter_sys=True)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def sources(flights_dir, tmp_path_factory) -> dict[str, object]:
    """6,000 synthetic flights as `devicepipe data synth` writes them (DIR/flights/part-*.parquet), and the same
    rows in the staged layout (DIR/raw/flights.parquet) without sched_dep, which the peer then builds."""
    from pipelines.datasets.synth import synthesize

    parts = tmp_path_factory.mktemp("synth") / "out"
    synthesize(parts, 6000, seed=0, data_dir=flights_dir, partition_rows=2000, progress=False)
    flights = pd.concat([pd.read_parquet(p) for p in sorted((parts / "flights").glob("*.parquet"))], ignore_index=True)
    staged = tmp_path_factory.mktemp("staged")
    (staged / "raw").mkdir()
    flights.drop(columns=["sched_dep"]).to_parquet(staged / "raw" / "flights.parquet", index=False)
    for name in ("weather", "planes"):
        (staged / "raw" / f"{name}.parquet").write_bytes((parts / f"{name}.parquet").read_bytes())
    return {"parts": parts, "staged": staged, "flights": flights}


@pytest.fixture(scope="module")
def written(sources, tmp_path_factory) -> dict:
    """The command on the parts layout, as `devicepipe bench` runs it: a fresh process writing its JSON."""
    path = tmp_path_factory.mktemp("json") / "peer.json"
    done = run_module("--source", str(sources["parts"]), "--json", str(path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "test AUC (xgboost)" in done.stdout and "[peer] xgboost:" in done.stderr
    return json.loads(path.read_text())


def test_the_record_has_every_step_the_rows_and_the_auc(written, sources):
    assert written["benchmark"] == "peer" and written["command"].startswith("python -m benchmarks.peer ")
    assert written["machine"]["cores"] >= 1 and "load" in written["machine"]
    result = written["results"]
    assert list(result["seconds"]) == [*peer.STEPS, "total"]
    assert all(s > 0 for s in result["seconds"].values())
    assert result["seconds"]["total"] >= sum(result["seconds"][step] for step in peer.STEPS)
    assert 0.5 < result["auc"]["xgboost"] <= 1, result["auc"]
    assert set(result["versions"]) == {"polars", "xgboost"} and result["xgboost"]["threads"] == os.cpu_count()
    assert 1 <= result["xgboost"]["best_iteration"] < result["rounds"] <= 1000  # early stopping ended it


def test_start_to_result_counts_the_process_start_and_the_imports(written):
    result = written["results"]
    if result["imports"] is None:
        pytest.skip("no /proc/self/stat here: the process's start is unknown")
    assert 0 < result["imports"] < result["start_to_result"]
    assert result["start_to_result"] >= result["imports"] + result["seconds"]["total"] - 0.02  # 10 ms ticks


def test_rows_are_the_flown_flights_split_on_the_recipes_dates(written, sources):
    assert (peer.VALID_START, peer.TEST_START) == (recipe.VALID_START, recipe.TEST_START)
    expected = split_rows(sources["flights"])
    assert written["results"]["rows"] == expected and min(expected.values()) > 0
    staged = peer.run_peer(sources["staged"])  # sched_dep built from the calendar columns
    assert staged["rows"] == expected
    assert staged["auc"]["xgboost"] == pytest.approx(written["results"]["auc"]["xgboost"], abs=1e-9)


def test_features_are_known_before_departure(written):
    names = written["results"]["feature_names"]
    assert names == peer.FEATURES and len(names) == len(set(names)) == written["results"]["features"]
    assert not set(names) & set(LEAKAGE) and not {"delayed", "arr_delay", "sched_dep", "tailnum"} & set(names)
    assert {"origin_hour_flights", "dest_day_flights", "carrier", "origin", "dest", "plane_year"} <= set(names)


def _one_hour() -> dict[str, list]:
    """Three flights from EWR in one hour (one of them cancelled, one without a tail number) and one from JFK, with
    every input column the peers' features read."""
    at = datetime(2013, 3, 4, 9)
    rows = [("EWR", "ORD", "N1", 10.0), ("EWR", "ORD", "N1", None), ("EWR", "BOS", None, 30.0), ("JFK", "ORD", "N2", 0)]
    inputs = [name for name in peer.FEATURES if name not in (*peer.COUNTS, *peer.CATEGORICAL, "weekday")]
    return {
        "origin": [r[0] for r in rows],
        "dest": [r[1] for r in rows],
        "tailnum": [r[2] for r in rows],
        "arr_delay": [r[3] for r in rows],
        "carrier": ["UA"] * len(rows),
        "time_hour": [at] * len(rows),
        "sched_dep": [at] * len(rows),
        **{name: [1.0] * len(rows) for name in inputs},
    }


def test_the_counts_include_cancelled_flights_and_the_categories_stay_categories():
    """Three flights from EWR in one hour, one of them cancelled: all three were scheduled, two were flown."""
    data = peer.features(pl.DataFrame(_one_hour()))
    X, y = data["X_train"], data["y_train"]
    assert len(X) == 3 and list(y) == [0, 1, 0]  # the cancelled flight dropped; delayed: arr_delay > 15
    assert X["origin_hour_flights"].to_list() == [3, 3, 1]
    assert X["dest_day_flights"].to_list() == [3, 1, 3] and X["carrier_day_flights"].to_list() == [4, 4, 4]
    assert X["plane_day_flights"].to_list() == [2, None, 1]  # no tail number: no count
    assert X["weekday"].to_list() == [1, 1, 1]  # Monday
    assert all(X[name].dtype == pl.Categorical for name in peer.CATEGORICAL)
    assert len(data["X_valid"]) == len(data["X_test"]) == 0


def test_missing_tables_are_named(tmp_path):
    with pytest.raises(DataError, match=r"weather\.parquet"):
        peer.peer_paths(tmp_path)
    done = run_module("--source", str(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr and "devicepipe data stage" in done.stderr


def test_without_polars_it_says_how_to_install_it(sources):
    done = run_module("--source", str(sources["parts"]), hide_polars=True)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and 'pip install -e ".[bench]"' in done.stderr


def test_nothing_of_devicepipe_is_in_the_peers_data_path():
    """The peer imports, of this project, only the benchmarks' record-keeping."""
    tree = ast.parse((ROOT / "benchmarks" / "peer.py").read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    ours = {name for name in modules if name.split(".")[0] in ("pipelines", "flows", "benchmarks")}
    assert ours == {"benchmarks.results"}, ours


def test_the_gpu_peer_on_pandas_has_the_polars_peers_rows_and_features(written, sources):
    """benchmarks.peer_gpu is the same script on the frame API cuDF mirrors: run here on pandas (XGBoost on the
    CPU), every split holds the same rows with the same features, value for value, as the Polars peer's."""
    from benchmarks import peer_gpu

    result = peer_gpu.run_peer_gpu(sources["parts"], library="pandas")
    assert result["rows"] == written["results"]["rows"]
    assert result["device"] == "cpu" and result["features"] == len(peer.FEATURES)
    assert 0.5 < result["auc"]["xgboost"] <= 1  # categories coded otherwise than Polars': on 6,000 rows, another AUC
    paths = peer.peer_paths(sources["parts"])
    polars, pandas = peer.features(peer.load(paths)), peer_gpu.features(pd, peer_gpu.load(pd, paths))
    for split in ("train", "valid", "test"):
        expected, found = polars[f"X_{split}"].to_pandas(), pandas[f"X_{split}"].reset_index(drop=True)
        for name in peer.CATEGORICAL:
            expected[name], found[name] = expected[name].astype(str), found[name].astype(str)
        pd.testing.assert_frame_equal(found, expected, check_dtype=False)
        assert list(pandas[f"y_{split}"]) == list(polars[f"y_{split}"])
    staged = peer_gpu.run_peer_gpu(sources["staged"], library="pandas")  # sched_dep from the calendar columns
    assert staged["rows"] == result["rows"] and staged["auc"] == result["auc"]


def test_the_gpu_peer_counts_as_the_polars_peer():
    from benchmarks import peer_gpu

    data = peer_gpu.features(pd, pd.DataFrame(_one_hour()))
    X, y = data["X_train"], data["y_train"]
    assert len(X) == 3 and list(y) == [0, 1, 0]
    assert X["origin_hour_flights"].tolist() == [3, 3, 1]
    assert X["dest_day_flights"].tolist() == [3, 1, 3] and X["carrier_day_flights"].tolist() == [4, 4, 4]
    assert X["plane_day_flights"].iloc[[0, 2]].tolist() == [2, 1] and pd.isna(X["plane_day_flights"].iloc[1])
    assert X["weekday"].tolist() == [1, 1, 1]  # Monday, as Polars numbers it
    assert all(str(X[name].dtype) == "category" for name in peer.CATEGORICAL)


def test_the_gpu_peer_without_cudf_says_what_to_install(sources):
    code = "import runpy; runpy.run_module('benchmarks.peer_gpu', run_name='__main__', alter_sys=True)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        import cudf  # noqa: F401 (where RAPIDS is installed, the library is there: nothing to refuse)

        pytest.skip("cuDF is importable here")
    except ImportError:
        pass
    done = subprocess.run(
        [sys.executable, "-c", code, "--source", str(sources["parts"])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "--library cudf: cudf cannot be imported" in done.stderr and "--library pandas" in done.stderr
