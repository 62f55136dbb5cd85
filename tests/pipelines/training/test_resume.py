"""Checkpoints: a training process killed with SIGKILL after its second epoch resumes to the same weights
as an uninterrupted run with the same seed; mismatched settings and older checkpoint formats are refused."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys

import pytest
import torch

from pipelines.errors import ConfigError
from pipelines.training.checkpoint import CHECKPOINT_FORMAT
from pipelines.training.loop import NonFiniteLoss
from pipelines.training.train import train_mlp
from tests.conftest import ROOT
from tests.pipelines.training import resume_job


def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path):
    checkpoint = tmp_path / "mlp.pt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run(
        [sys.executable, "-m", "tests.pipelines.training.resume_job", str(checkpoint)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["epoch"] == resume_job.KILL_AFTER_EPOCH + 1 and len(saved["history"]) == 2
    assert not list(tmp_path.glob(".*.tmp"))

    resumed = resume_job.run(checkpoint)
    reference = resume_job.run(None)
    assert resumed.resumed_from_epoch == 2
    assert [h["epoch"] for h in resumed.history] == [h["epoch"] for h in reference.history]
    assert resumed.best_epoch == reference.best_epoch and resumed.best_metric == reference.best_metric
    for (name, a), (_, b) in zip(resumed.model.state_dict().items(), reference.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_a_checkpoint_from_other_settings_is_refused(tmp_path):
    checkpoint = tmp_path / "mlp.pt"
    train, valid = resume_job.problem()
    config = dataclasses.replace(resume_job.CONFIG, epochs=1)
    train_mlp(train, valid, [6, 6], "classification", config, progress=False, checkpoint=checkpoint)
    other = dataclasses.replace(config, lr=0.1)
    with pytest.raises(ConfigError, match="other training settings"):
        train_mlp(train, valid, [6, 6], "classification", other, progress=False, checkpoint=checkpoint)


@pytest.mark.parametrize("layout", ["current layout", "format 1 layout"])
def test_a_checkpoint_of_an_older_format_is_refused(tmp_path, layout):
    checkpoint = tmp_path / "mlp.pt"
    train, valid = resume_job.problem()
    config = dataclasses.replace(resume_job.CONFIG, epochs=1)
    train_mlp(train, valid, [6, 6], "classification", config, progress=False, checkpoint=checkpoint)
    document = torch.load(checkpoint, weights_only=True)
    assert document["format"] == CHECKPOINT_FORMAT == 2 and "scaler" not in document
    # the same checkpoint in the current format resumes (there is nothing left to train)
    resumed = train_mlp(train, valid, [6, 6], "classification", config, progress=False, checkpoint=checkpoint)
    assert resumed.resumed_from_epoch == 1

    document["format"] = 1
    if layout == "format 1 layout":  # what the trainer wrote before: a disabled GradScaler, early stopping flat
        document |= document.pop("early_stopping")
        document["scaler"] = {}
    torch.save(document, checkpoint)
    with pytest.raises(ConfigError, match=r"other training settings: an older checkpoint format \(1; .*format 2") as e:
        train_mlp(train, valid, [6, 6], "classification", config, progress=False, checkpoint=checkpoint)
    assert "or start a new run" in str(e.value)


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    checkpoint = tmp_path / "mlp.pt"
    train, valid = resume_job.problem()
    config = dataclasses.replace(resume_job.CONFIG, epochs=3)

    def poison_after_first_epoch(epoch: int, metric: float) -> None:
        if epoch == 0:
            train.numeric[5:] = float("nan")

    with pytest.raises(NonFiniteLoss, match=r"became nan at step \d+ \(epoch 1\).*last good checkpoint is kept"):
        train_mlp(
            train,
            valid,
            [6, 6],
            "classification",
            config,
            progress=False,
            checkpoint=checkpoint,
            on_epoch_end=poison_after_first_epoch,
        )
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in saved["model"].values() if t.is_floating_point())


def test_a_checkpoint_written_before_the_gpus_setting_resumes_as_one_process(tmp_path):
    """`gpus` joined the training settings later: a checkpoint without it was written by one process."""
    checkpoint = tmp_path / "mlp.pt"
    train, valid = resume_job.problem()
    config = dataclasses.replace(resume_job.CONFIG, epochs=1)
    train_mlp(train, valid, [6, 6], "classification", config, progress=False, checkpoint=checkpoint)
    document = torch.load(checkpoint, weights_only=True)
    del document["config"]["gpus"]
    torch.save(document, checkpoint)
    resumed = train_mlp(train, valid, [6, 6], "classification", config, progress=False, checkpoint=checkpoint)
    assert resumed.resumed_from_epoch == 1
    with pytest.raises(ConfigError, match="other training settings"):
        two = dataclasses.replace(config, gpus=2)
        train_mlp(train, valid, [6, 6], "classification", two, progress=False, checkpoint=checkpoint)
