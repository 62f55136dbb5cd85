"""A small distributed training job (2 gloo processes, one thread each) shared by the DDP tests and the process
they start; the hooks are module-level so that they can be pickled to the training processes.

python -m tests.pipelines.training.distributed.ddp_job CHECKPOINT FAILURE   trains with checkpoints until FAILURE (a
name in FAILURES) strikes; prints the error it ends with as one JSON line and exits 2 ("linger": the processes wait to
be killed with their parent)
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from pipelines.errors import DevicepipeError
from pipelines.training.distributed.trainer import train_mlp_distributed
from pipelines.training.types import TrainConfig, TrainResult
from tests.pipelines.training.resume_job import problem  # the same rows as the one-process resume test

CONFIG = TrainConfig(epochs=4, batch_size=128, patience=4, seed=3, gpus=2)
TIMEOUT = 30.0  # seconds for the rendezvous and for every collective
KILL_AFTER_EPOCH = 1  # rank 1 is killed once its second epoch is checkpointed


def run(checkpoint: Path | None, on_epoch_end=None, poison: bool = False) -> TrainResult:
    train, valid = problem()
    if poison:  # NaNs in the second half of the rows only: the shard of rank 1
        train.numeric[1500::40, 2] = float("nan")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # each of the 2 processes takes one thread
    try:
        return train_mlp_distributed(
            train,
            valid,
            [6, 6],
            "classification",
            CONFIG,
            progress=False,
            checkpoint=checkpoint,
            on_epoch_end=on_epoch_end,
            timeout=TIMEOUT,
        )
    finally:
        torch.set_num_threads(threads)


def kill_rank_1(epoch: int, metric: float) -> None:
    if epoch == KILL_AFTER_EPOCH and dist.get_rank() == 1:
        os.kill(os.getpid(), signal.SIGKILL)


def raise_in_rank_1(epoch: int, metric: float) -> None:
    if epoch == 0 and dist.get_rank() == 1:
        raise RuntimeError("rank 1 broke on purpose")


def linger(epoch: int, metric: float) -> None:
    """Each process writes its pid beside the checkpoint after epoch 0, then waits for its parent to be killed."""
    if epoch == 0:
        folder = Path(os.environ["DDP_JOB_PIDS"])
        (folder / f".rank-{dist.get_rank()}.part").write_text(str(os.getpid()))
        (folder / f".rank-{dist.get_rank()}.part").rename(folder / f"rank-{dist.get_rank()}.pid")
        time.sleep(120)


FAILURES = {
    "kill": {"on_epoch_end": kill_rank_1},
    "raise": {"on_epoch_end": raise_in_rank_1},
    "nan": {"poison": True},
    "linger": {"on_epoch_end": linger},
}


if __name__ == "__main__":
    try:
        run(Path(sys.argv[1]), **FAILURES[sys.argv[2]])
    except DevicepipeError as error:
        print(json.dumps({"type": type(error).__name__, "message": str(error)}))
        sys.exit(2)
    sys.exit("the job was meant to fail")
