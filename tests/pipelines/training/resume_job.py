"""A small training job shared by the resume test and the process it kills.

python -m tests.pipelines.training.resume_job CHECKPOINT   trains with checkpoints; kill -9s itself after epoch 2
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import torch

from pipelines.training.train import train_mlp
from pipelines.training.types import DeviceData, TrainConfig

CONFIG = TrainConfig(epochs=5, batch_size=128, patience=5, seed=7)
KILL_AFTER_EPOCH = 1  # epochs count from 0: the process dies once its second epoch is checkpointed


def problem() -> tuple[DeviceData, DeviceData]:
    generator = torch.Generator().manual_seed(0)
    numeric = torch.randn(4000, 4, generator=generator)
    codes = torch.randint(0, 6, (4000, 2), generator=generator, dtype=torch.int32)
    logits = numeric[:, 0] - numeric[:, 1] + (codes[:, 0] == 3).float()
    y = (logits + 0.5 * torch.randn(4000, generator=generator) > 0).float()
    return DeviceData(numeric[:3000], codes[:3000], y[:3000]), DeviceData(numeric[3000:], codes[3000:], y[3000:])


def run(checkpoint: Path | None, on_epoch_end=None):
    train, valid = problem()
    # One thread here and in the process the test kills: the weights are compared bit for bit, and CPU float sums
    # split over another number of threads can differ in their last bits (seen once on a heavily loaded machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_mlp(
            train,
            valid,
            [6, 6],
            "classification",
            CONFIG,
            progress=False,
            checkpoint=checkpoint,
            on_epoch_end=on_epoch_end,
        )
    finally:
        torch.set_num_threads(threads)


def _die(epoch: int, metric: float) -> None:
    if epoch == KILL_AFTER_EPOCH:
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    run(Path(sys.argv[1]), on_epoch_end=_die)
    sys.exit("the job was meant to be killed before it finished")
