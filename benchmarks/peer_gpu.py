"""The GPU peer: the script a competent data scientist writes for the default job on a GPU in 2026, with cuDF and
XGBoost on CUDA, timed by step. What devicepipe's GPU backend is measured against (tier 2 of
benchmarks/gpu_check.sh, beside `devicepipe run --backend gpu` with its fixed parts apart).

The same steps, columns, split and XGBoost settings as the CPU peer (benchmarks.peer, Polars), written against the
pandas API that cuDF mirrors: `--library cudf` (the default) runs it on the GPU with XGBoost's device="cuda";
`--library pandas` runs the same code on the CPU (how the tests check it without a GPU). Nothing of devicepipe is in
its data path: it imports benchmarks.results and the CPU peer's constants only.

    imports   the frame library, xgboost and sklearn.metrics, from the process's start
    load      read_parquet of the flights (flights.parquet or flights/*.parquet), weather and planes; the origin's
              hourly weather merged on origin + time_hour, the plane on tailnum (its `year` as plane_year)
    features  group sizes broadcast with groupby().transform("count"): flights scheduled per origin per hour, per
              dest, per carrier and per plane per day (cancelled flights included), the weekday; then cancelled
              flights dropped, target arr_delay > 15, carrier/origin/dest as category, split on sched_dep
    xgboost   XGBClassifier(tree_method="hist", device="cuda" (or "cpu"), enable_categorical=True, ...) with early
              stopping on the valid split
    score     predict_proba on test, the AUC with sklearn.metrics.roc_auc_score on host copies

    python -m benchmarks.peer_gpu [--data-dir data | --source DIR] [--library cudf|pandas] [--seed 0] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from benchmarks.peer import (
    CATEGORICAL,
    FEATURES,
    FLIGHTS,
    TEST_START,
    VALID_START,
    WEATHER,
    XGBOOST,
    add_source_arguments,
    peer_paths,
    source_of,
)
from benchmarks.results import (
    ConfigError,
    CpuLoad,
    base_parser,
    process_seconds,
    record,
    run_command,
    write_json,
)

MODULE = "benchmarks.peer_gpu"
STEPS = ("load", "features", "xgboost", "score")
DEVICE = {"cudf": "cuda", "pandas": "cpu"}


def frame_library(name: str) -> Any:
    """cudf or pandas; a ConfigError that says what to install where cuDF cannot be imported."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(
            f"--library {name}: {name} cannot be imported ({exc}). On a GPU machine pip install -e '.[gpu-cu13]' "
            "(or gpu-cu12); without one, --library pandas runs the same script on the CPU."
        ) from None


def load(xd: Any, paths: dict[str, Path]) -> Any:
    """Every scheduled flight with its origin's weather at the scheduled hour and its plane."""
    flights_path = paths["flights"]
    files = sorted(flights_path.parent.glob(flights_path.name)) if "*" in flights_path.name else [flights_path]
    flights = xd.concat([xd.read_parquet(f) for f in files], ignore_index=True)
    columns = [*FLIGHTS, *(["sched_dep"] if "sched_dep" in flights.columns else [])]
    flights = flights[columns]
    if "sched_dep" not in flights.columns:  # the scheduled departure, from the columns known before departure
        parts = flights[["year", "month", "day", "hour", "minute"]]
        flights["sched_dep"] = xd.to_datetime(parts)
    weather = xd.read_parquet(paths["weather"], columns=["origin", "time_hour", *WEATHER])
    weather = weather.drop_duplicates(["origin", "time_hour"], keep="first")
    planes = xd.read_parquet(paths["planes"], columns=["tailnum", "year", "seats", "engines"])
    planes = planes.rename(columns={"year": "plane_year"})
    weather["time_hour"] = weather["time_hour"].astype(flights["time_hour"].dtype)
    joined = flights.merge(weather, on=["origin", "time_hour"], how="left").merge(planes, on="tailnum", how="left")
    return joined


def features(xd: Any, frame: Any) -> dict[str, Any]:
    """X and y per split: the counts over every scheduled flight, then the flown ones split on sched_dep."""
    frame = frame.assign(sched_day=frame["sched_dep"].dt.floor("D"), one=1)
    for name, keys in (
        ("origin_hour_flights", ["origin", "time_hour"]),
        ("dest_day_flights", ["dest", "sched_day"]),
        ("carrier_day_flights", ["carrier", "sched_day"]),
        ("plane_day_flights", ["tailnum", "sched_day"]),  # null tailnum: null
    ):
        frame[name] = frame.groupby(keys)["one"].transform("count")
    frame["weekday"] = frame["sched_dep"].dt.weekday + 1  # Monday 1, as the CPU peer's Polars
    frame = frame[frame["arr_delay"].notna()]  # cancelled flights
    frame["delayed"] = (frame["arr_delay"] > 15).astype("int8")
    for column in CATEGORICAL:
        frame[column] = frame[column].astype("category")
    when = frame["sched_dep"]
    valid, test = np.datetime64(VALID_START), np.datetime64(TEST_START)
    splits = {"train": when < valid, "valid": (when >= valid) & (when < test), "test": when >= test}
    data = {}
    for name, rows in splits.items():
        part = frame[rows]
        data[f"X_{name}"], data[f"y_{name}"] = part[FEATURES], part["delayed"]
    return data


def fit(data: dict[str, Any], device: str, seed: int) -> xgb.XGBClassifier:
    model = xgb.XGBClassifier(
        tree_method="hist", device=device, enable_categorical=True, eval_metric="auc", random_state=seed, **XGBOOST
    )
    model.fit(data["X_train"], data["y_train"], eval_set=[(data["X_valid"], data["y_valid"])], verbose=False)
    return model


def _host(values: Any) -> np.ndarray:
    """A cuDF series, a CuPy array, a pandas series or a NumPy array as NumPy."""
    if hasattr(values, "to_numpy"):
        return values.to_numpy()
    return values.get() if hasattr(values, "get") else np.asarray(values)


def score(model: xgb.XGBClassifier, data: dict[str, Any]) -> float:
    return float(roc_auc_score(_host(data["y_test"]), _host(model.predict_proba(data["X_test"]))[:, 1]))


def run_peer_gpu(
    source: Path, library: str = "cudf", seed: int = 0, progress: Callable[[str, float], None] | None = None
) -> dict[str, Any]:
    """The GPU peer's script on the tables in `source` (either layout: benchmarks.peer.peer_paths), timed by step."""
    started = process_seconds()
    xd = frame_library(library)
    imported = process_seconds() if started is not None else None
    paths = peer_paths(source)
    seconds: dict[str, float] = {}

    def timed(step: str, fn: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        value = fn(*args)
        if library == "cudf":  # the device's work done before the clock stops
            import cupy  # only with cuDF, on a GPU

            cupy.cuda.runtime.deviceSynchronize()
        seconds[step] = time.perf_counter() - start
        if progress is not None:
            progress(step, seconds[step])
        return value

    start = time.perf_counter()
    data = timed("features", features, xd, timed("load", load, xd, paths))
    model = timed("xgboost", fit, data, DEVICE[library], seed)
    auc = timed("score", score, model, data)
    seconds["total"] = time.perf_counter() - start
    return {
        "seconds": seconds,
        "imports": imported,
        "library": library,
        "device": DEVICE[library],
        "auc": {"xgboost": auc},
        "rows": {name: len(data[f"y_{name}"]) for name in ("train", "valid", "test")},
        "features": len(FEATURES),
        "xgboost": {**XGBOOST, "best_iteration": int(model.best_iteration)},
        "rounds": int(model.get_booster().num_boosted_rounds()),
        "versions": {library: xd.__version__, "xgboost": xgb.__version__},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    load_meter = CpuLoad()
    source = source_of(args)

    def report(step: str, took: float) -> None:
        print(f"[peer-gpu] {step}: {took:.2f} s", file=sys.stderr, flush=True)

    results = run_peer_gpu(source, library=args.library, seed=args.seed, progress=report)
    results["start_to_result"] = process_seconds()
    run = record(MODULE, argv, args, results, None, load_meter)
    r = run["results"]
    print(f"GPU peer ({args.library} + XGBoost {r['versions']['xgboost']}, device {r['device']}): {r['rows']}")
    for step in (*STEPS, "total"):
        print(f"{step:<22}{r['seconds'][step]:>10.2f}")
    if r["start_to_result"] is not None:
        print(f"{'start_to_result':<22}{r['start_to_result']:>10.2f}")
    print(f"test AUC (xgboost): {r['auc']['xgboost']:.4f}, {r['rounds']} rounds")
    if args.json:
        write_json(args.json, run)
    return run


def _parser() -> argparse.ArgumentParser:
    parser = base_parser(MODULE, __doc__.splitlines()[0], threads_help="unused (XGBoost on CUDA)")
    add_source_arguments(parser)
    parser.add_argument("--library", choices=sorted(DEVICE), default="cudf", help="cudf (GPU) or pandas (CPU)")
    return parser


if __name__ == "__main__":
    run_command(main)
