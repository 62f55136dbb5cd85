"""Stages benchmark: seconds per pipeline stage of the default job (or your data), per backend, same machine.

Each backend runs in a fresh process of its own (GPU memory settings and torch's threads are per process), the
stages of pipelines.stages.STAGES called in order as the `train` flow calls them, without Prefect and without
the feature cache:

    load       read the Parquet files, join weather and planes, validate, encode the target
    split      train / valid / test
    features   fit the feature workflow on train, transform every split
    handoff    zero-copy DLPack handoff of the feature columns to torch
    baselines  fit and score every baseline (seconds per model beside it)
    train      train and score the MLP

With `--cluster local` (or `local-cuda`, or a scheduler's address) the stages run as `devicepipe run --cluster`
does, and each stage's peak resident memory of every Dask worker is recorded beside this process's
(`worker_peak_gib`; the peaks are reset between stages). On the GPU backend each stage runs under the residency
ledger (host<->device copy bytes; `--no-ledger` runs without it, to measure what profiling costs). The first stage
of a process also pays for start-up work (CUDA context, cuDF's kernel compilation): `--warmup` runs the whole
sequence once, untimed, on a 1% sample first. `--through features` stops after the features stage (the scale
runs: 100M rows through the features on a GPU cluster).

    python -m benchmarks.stages [--backends cpu gpu] [--sample 1.0] [--epochs 3] [--models xgboost ...]
                                [--data-dir data] [--data PATH --target COL] [--dataset NAME] [--warmup] [--no-ledger]
                                [--rmm-pool] [--spill] [--cluster local [--n-workers N] [--partition-size 256MiB]]
                                [--through features|train] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.results import CpuLoad, base_parser, parse_args, positive_int, record, run_command, write_json
from pipelines import backend as backends
from pipelines.cluster.memory import peak_bytes, reset_peak, reset_worker_peaks, worker_peaks
from pipelines.config import RunConfig
from pipelines.data.placement import Placement, placement_of
from pipelines.errors import ConfigError
from pipelines.runs.record import metrics_document
from pipelines.runs.residency import CALIBRATION_BYTES, Ledger
from pipelines.stages import FEATURE_STAGES, STAGES, check_run, fitted_models, run_stages

MODULE = "benchmarks.stages"
NAMES = tuple(stage.name for stage in STAGES)


def time_stages(
    config: RunConfig, backend: backends.Backend, ledger: bool = True, through: str = "train"
) -> dict[str, Any]:
    """The pipeline's stages (pipelines.stages.STAGES, or up to `through` "features") in order, timed (and, on
    the GPU unless `ledger` is False, ledgered), on the run's Dask cluster where it asks for one; what each
    produced."""
    with placement_of(config, backend.name) as placement:
        return _time_stages(config, backend, ledger, placement, through)


def _time_stages(
    config: RunConfig, backend: backends.Backend, ledger: bool, placement: Placement, through: str
) -> dict[str, Any]:
    client = placement.client  # the workers' peak memory is measured around each stage
    ledger = Ledger(enabled=backend.is_gpu and ledger)
    seconds: dict[str, float] = {}
    peak: dict[str, float | None] = {}
    workers: dict[str, dict[str, float | None]] = {}
    reset_peak_rss()
    if client is not None:
        reset_worker_peaks(client)

    def report(stage: str, took: float) -> None:
        peak[stage] = peak_rss_gib()
        reset_peak_rss()
        shown = f", peak resident {peak[stage]:.2f} GiB" if peak[stage] is not None else ""
        if client is not None:
            workers[stage] = {k: _gib(v) for k, v in worker_peaks(client).items()}
            reset_worker_peaks(client)
            shown += f"; workers {', '.join(f'{v:.2f}' for v in workers[stage].values() if v is not None)} GiB"
        print(f"[{backend.name}] {stage}: {took:.2f} s{shown}", file=sys.stderr, flush=True)  # progress

    values = {"recipe": check_run(config), "backend": backend, "config": config, "progress": False}
    values.update(checkpoints=None, placement=placement)
    run_stages(STAGES if through == "train" else FEATURE_STAGES, values, ledger, seconds, report=report)
    features = values["features"]
    measured = {
        "backend": backend.name,
        "device": backend.device_name,
        "cluster": config.cluster,
        "through": through,
        "seconds": seconds,
        "peak_rss_gib": peak,
        "worker_peak_gib": workers or None,
        "total_seconds": round(sum(seconds.values()), 3),
        "rows": features.rows,
        "features": {"numeric": len(features.workflow.numeric_), "categorical": len(features.workflow.categorical_)},
        "notes": features.notes,
        "models": {},
        "residency": ledger.as_dict(),
    }
    if through == "features":
        return measured
    hand, fitted = values["handoff"], fitted_models(values)
    metrics = metrics_document(features, fitted, config.task, backend)
    return {
        **measured,
        "rows": metrics["rows"],
        "models": {
            name: {
                **{k: score[k] for k in ("test", "valid", "fit_seconds")},
                # what the fit recorded beyond its scores (XGBoost's best iteration, the Dask workers), curves left out
                "details": {k: v for k, v in fitted[name].model.details().items() if k != "history"},
            }
            for name, score in metrics["models"].items()
        },
        "best_model": metrics["best_model"],
        "epoch_seconds": {
            name: [round(row["seconds"], 3) for row in model.model.history]
            for name, model in fitted.items()
            if model.model.history
        },
        "handoff_zero_copy": hand.check["zero_copy"],
    }


def _gib(value: int | None) -> float | None:
    return round(value / 2**30, 3) if value is not None else None


def peak_rss_gib() -> float | None:
    """This process's peak resident memory (VmHWM) since the last `reset_peak_rss`, in GiB (Linux only)."""
    return _gib(peak_bytes())


def reset_peak_rss() -> None:
    """Start a new peak (pipelines.cluster.memory.reset_peak)."""
    reset_peak()


def _config(args: argparse.Namespace, backend: str, sample: float | None) -> RunConfig:
    return RunConfig(
        dataset=args.dataset,
        data=args.data,
        target=args.target,
        task=args.task,
        backend=backend,
        data_dir=str(args.data_dir),
        seed=args.seed,
        sample=sample,
        epochs=args.epochs,
        models=args.models,
        cache=False,
        rmm_pool=args.rmm_pool,
        spill=args.spill,
        cluster=args.cluster,
        n_workers=args.n_workers,
        partition_size=args.partition_size,
    ).check()


def one_backend(args: argparse.Namespace) -> dict[str, Any]:
    """In this process: select the backend, optionally warm up, run the stages."""
    backend = backends.select(args.one, rmm_pool=args.rmm_pool, spill=args.spill)
    warmup = None
    if args.warmup:
        started = time.perf_counter()
        time_stages(_config(args, args.one, 0.01), backend, not args.no_ledger, args.through)
        warmup = round(time.perf_counter() - started, 3)
    result = time_stages(_config(args, args.one, args.sample), backend, not args.no_ledger, args.through)
    result["warmup_seconds"] = warmup
    result["torch_threads"] = torch.get_num_threads()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(_parser(), argv)
    if args.one:  # a worker: one backend, results to --json
        write_json(args.json, one_backend(args))
        return {}
    _config(args, "cpu", args.sample)  # a bad option stops here, before any worker starts
    args.backends = list(dict.fromkeys(args.backends))
    load = CpuLoad()
    # The GPU first: a machine without one fails in seconds, not after the whole CPU run.
    done = {name: _worker(name, argv) for name in sorted(args.backends, key=lambda n: n != "gpu")}
    results = {"by_backend": {name: done[name] for name in args.backends}}
    if len(args.backends) == 2:
        first, second = (results["by_backend"][name]["seconds"] for name in args.backends)
        results["ratio"] = {stage: _ratio(first.get(stage), second.get(stage)) for stage in first}
        totals = [results["by_backend"][name]["total_seconds"] for name in args.backends]
        results["ratio"]["total"] = _ratio(*totals)
    device = torch.device("cuda") if "gpu" in args.backends else torch.device("cpu")
    run = record(MODULE, argv, args, results, device, load)
    _print_table(run)
    if args.json:
        write_json(args.json, run)
    return run


def _worker(name: str, argv: list[str]) -> dict[str, Any]:
    """Run one backend in a fresh process; its stderr passes through, its result comes back as JSON."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"{name}.json"
        command = [sys.executable, "-m", MODULE, *_without(argv, "--json", "--backends"), "--one", name]
        command += ["--json", str(out)]
        completed = subprocess.run(command, stdout=subprocess.DEVNULL, env={**os.environ}, check=False)
        if completed.returncode != 0 or not out.exists():
            raise ConfigError(f"the {name} backend's run failed (exit code {completed.returncode}); see above.")
        return json.loads(out.read_text())


def _without(argv: list[str], *options: str) -> list[str]:
    """argv less `options` and the values that follow each."""
    kept, skipping = [], False
    for item in argv:
        if item in options:
            skipping = True
            continue
        if skipping and not item.startswith("--"):
            continue
        skipping = False
        kept.append(item)
    return kept


def _ratio(first: float | None, second: float | None) -> float | None:
    return round(first / second, 2) if first and second else None


def _print_table(run: dict[str, Any]) -> None:
    by_backend, machine = run["results"]["by_backend"], run["machine"]
    names = list(by_backend)
    print(f"{machine['cpu']}, {machine['cores']} cores" + (f"; {machine['gpu']}" if "gpu" in machine else ""))
    header = "".join(f"{name + ' s':>12}" for name in names)
    ratio = f"{names[0] + '/' + names[1]:>12}" if "ratio" in run["results"] else ""
    print(f"{'stage':<12}{header}{ratio}")
    for stage in [*by_backend[names[0]]["seconds"], "total"]:
        cells = "".join(
            f"{(by_backend[n]['total_seconds'] if stage == 'total' else by_backend[n]['seconds'][stage]):>12.2f}"
            for n in names
        )
        extra = run["results"].get("ratio", {}).get(stage)
        print(f"{stage:<12}{cells}" + (f"{extra:>11.1f}x" if extra else ""))
    print("\ntest metrics, best on valid marked *, (fit seconds):")
    for n in names:
        result = by_backend[n]
        if not result["models"]:
            print(f"  {n}: through the features only ({sum(result['rows'].values()):,} rows)")
            continue
        primary = next(iter(next(iter(result["models"].values()))["test"]))
        row = ", ".join(
            f"{model}{'*' if model == result['best_model'] else ''} {score['test'][primary]:.4f} "
            f"({score['fit_seconds']:.1f} s)"
            for model, score in result["models"].items()
        )
        print(f"  {n}: {primary} {row}")
        residency = result["residency"]
        if residency["enabled"]:
            seen = residency["calibration"]["seen_bytes"]
            print(f"    ledger: saw {seen:,} of its {CALIBRATION_BYTES:,}-byte test copy")
            for stage, copies in residency["stages"].items():
                print(
                    f"    {stage:<10} host->device {copies['host_to_device_bytes']:>14,} B "
                    f"device->host {copies['device_to_host_bytes']:>12,} B"
                )


def _parser() -> argparse.ArgumentParser:
    parser = base_parser(MODULE, __doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=["cpu", "gpu"], default=["cpu"])
    parser.add_argument("--sample", type=float, default=None, help="fraction of rows (default: all)")
    parser.add_argument("--epochs", type=positive_int, default=3)
    parser.add_argument("--models", nargs="+", default=None, help="baselines (default: every one of the task)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--dataset", default=None, help="a dataset recipe (default: flights, or table with --data)")
    parser.add_argument("--data", default=None, help="your Parquet/CSV (or, with --dataset flights, a synth folder)")
    parser.add_argument("--target", default=None)
    parser.add_argument("--task", choices=["classification", "regression"], default="classification")
    parser.add_argument("--warmup", action="store_true", help="run once untimed on a 1%% sample first")
    parser.add_argument(
        "--no-ledger", action="store_true", help="GPU: run without the residency ledger, to measure what it costs"
    )
    parser.add_argument("--rmm-pool", action="store_true")
    parser.add_argument("--spill", action="store_true")
    parser.add_argument("--cluster", default="none", help="Dask: none, local, local-cuda or a scheduler address")
    parser.add_argument("--n-workers", type=positive_int, default=None, help="--cluster local: workers to start")
    parser.add_argument("--partition-size", default="256MiB", help="Dask: the size of one partition")
    parser.add_argument(
        "--through", choices=["features", "train"], default="train", help="the last stage to run (default: train)"
    )
    parser.add_argument("--one", choices=["cpu", "gpu"], default=None, help=argparse.SUPPRESS)
    return parser


if __name__ == "__main__":
    run_command(main)
