"""The MLP on a CUDA device without RAPIDS: the first GPU tier (benchmarks/gpu_check.sh 1).

The CPU backend loads the default job (or a synth folder) and computes its features and handoff as the
pipeline does; the training split's tensors then go to `--device` in one host-to-device copy per tensor (timed:
the copy cuDF's zero-copy handoff saves on the GPU backend) and the MLP trains there (pipelines.training.single, as the
train stage runs it). Reported: the copy's seconds and bytes, seconds per epoch, and the test metrics, beside
the same training on the CPU (`--compare-cpu`) in the same process.

    python -m benchmarks.train_cuda [--device cuda] [--epochs 3] [--sample F] [--data DIR] [--compare-cpu]
                                    [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import torch

from benchmarks.results import CpuLoad, base_parser, parse_args, positive_int, record, run_command, write_json
from pipelines import backend as backends
from pipelines import evaluate
from pipelines.config import RunConfig
from pipelines.errors import ConfigError
from pipelines.models import MLP
from pipelines.runs.residency import Ledger
from pipelines.stages import FEATURE_STAGES, MODEL_STAGES, check_run, run_stages
from pipelines.training.loop import predict
from pipelines.training.train import train_mlp
from pipelines.training.types import DeviceData, TrainConfig

MODULE = "benchmarks.train_cuda"


def moved(data: DeviceData, device: torch.device) -> tuple[DeviceData, float, int]:
    """`data` on `device` (a copy per tensor), the seconds the copies took and their bytes."""
    started = time.perf_counter()
    before = (data.numeric, data.codes, data.y)
    tensors = [t.to(device) for t in before]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    nbytes = sum(t.numel() * t.element_size() for t, old in zip(tensors, before, strict=True) if t is not old)
    return DeviceData(*tensors), time.perf_counter() - started, nbytes


def train_on(device: torch.device, handoff: Any, cardinalities: list[int], epochs: int, seed: int) -> dict:
    """Copy the splits to `device`, train the MLP there, score the test split."""
    splits, seconds, nbytes = {}, 0.0, 0
    for name, data in handoff.data.items():
        splits[name], took, size = moved(data, device)
        seconds, nbytes = seconds + took, nbytes + size
    started = time.perf_counter()
    result = train_mlp(
        splits["train"], splits["valid"], cardinalities, "classification", TrainConfig(epochs=epochs, seed=seed), False
    )
    train_seconds = time.perf_counter() - started
    test = splits["test"]
    scores = predict(result.model, test, "classification", result.target_mean, result.target_std)
    metrics = {name: round(float(value), 4) for name, value in evaluate.score("classification", test.y, scores).items()}
    return {
        "device": str(device),
        "copy_seconds": round(seconds, 4),
        "copy_bytes": nbytes,
        "train_seconds": round(train_seconds, 3),
        "epoch_seconds": [round(row["seconds"], 3) for row in result.history],
        "test": metrics,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(_parser(), argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda needs a CUDA build of torch and a visible GPU; none is usable here.")
    load = CpuLoad()
    config = RunConfig(
        dataset="flights",
        data=args.data,
        data_dir=args.data_dir,
        backend="cpu",
        sample=args.sample,
        seed=args.seed,
        models=[],
        cache=False,
    ).check()
    values = {"recipe": check_run(config), "backend": backends.select("cpu"), "config": config, "progress": False}
    seconds: dict[str, float] = {}
    run_stages((*FEATURE_STAGES, MODEL_STAGES[0]), values, Ledger(enabled=False), seconds)
    cardinalities = MLP.cardinalities(values["features"].workflow)
    results = {"stages_seconds": seconds, "rows": values["features"].rows}
    results["by_device"] = {str(device): train_on(device, values["handoff"], cardinalities, args.epochs, args.seed)}
    if args.compare_cpu and device.type != "cpu":
        results["by_device"]["cpu"] = train_on(
            torch.device("cpu"), values["handoff"], cardinalities, args.epochs, args.seed
        )
    run = record(MODULE, argv, args, results, device, load)
    for name, row in results["by_device"].items():
        print(
            f"{name}: copy {row['copy_seconds']:.3f} s ({row['copy_bytes']:,} B), train {row['train_seconds']:.2f} s,"
            f" epochs {row['epoch_seconds']}, test {row['test']}"
        )
    if args.json:
        write_json(args.json, run)
    return run


def _parser() -> argparse.ArgumentParser:
    parser = base_parser(MODULE, __doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--epochs", type=positive_int, default=3)
    parser.add_argument("--sample", type=float, default=None, help="fraction of rows (default: all)")
    parser.add_argument("--data", default=None, help="a folder made by `devicepipe data synth` (default: the job's)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--compare-cpu", action="store_true", help="train on the CPU too, in the same process")
    return parser


if __name__ == "__main__":
    run_command(main)
