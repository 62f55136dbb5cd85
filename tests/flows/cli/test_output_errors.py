"""A run whose output cannot be written, as a user meets it: an output folder under a file is refused before any
work; a device that fills up while the run writes is exit 2 saying so, leaving only complete files (the
interrupted folder keeps its settings and checkpoint, and --resume finishes it) or nothing at all."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.flows.cli.test_cli import assert_user_error, devicepipe


@pytest.fixture
def table(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    frame["y"] = (frame["x"] > 0).astype(int)
    frame.to_csv(tmp_path / "t.csv", index=False)
    return tmp_path / "t.csv"


def _run(table: Path, *more: str) -> list[str]:
    args = ["run", "--data", str(table), "--target", "y", "--epochs", "2", "--model", "logistic_regression"]
    return [*args, "--no-progress", "--backend", "cpu", "--data-dir", str(table.parent / "data"), *more]


def test_an_output_folder_under_a_file_is_refused_before_any_work(tmp_path, table):
    result = devicepipe(*_run(table, "--output", "t.csv/runs"), cwd=tmp_path)
    assert_user_error(result, "t.csv is a file")
    assert "Flow run" not in result.stdout + result.stderr  # refused before the flow started
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder: no file mode stops it")
def test_a_read_only_output_folder_is_refused_before_any_work(tmp_path, table):
    (tmp_path / "runs").mkdir(mode=0o555)
    result = devicepipe(*_run(table, "--output", "runs"), cwd=tmp_path)
    assert_user_error(result, "cannot be written")
    assert list((tmp_path / "runs").iterdir()) == []


def _main(args: list[str], capsys) -> tuple[int, str]:
    from flows.cli import main

    with pytest.raises(SystemExit) as exit_code:
        main(args)
    return exit_code.value.code, capsys.readouterr().err


def _full_device(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_device_full_while_writing_the_run_keeps_only_complete_files(
    tmp_path, table, monkeypatch, capsys, prefect_harness
):
    """skops writes half of a model file, then the device is full: exit 2; the folder keeps config.json and the
    checkpoint, whole; nothing of the bundle (space freed); --resume then completes the run."""
    import skops.io

    real_dump = skops.io.dump

    def half_then_full(model, path):
        Path(path).write_bytes(b"PK\x03\x04 half a file")
        _full_device()

    monkeypatch.setattr(skops.io, "dump", half_then_full)
    code, err = _main(_run(table, "--output", str(tmp_path / "runs")), capsys)
    assert code == 2, err
    assert "No space left on the device" in err and "Traceback" not in err
    (staging,) = (tmp_path / "runs").glob(".incomplete-*")
    files = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
    assert files == [".run.lock", "checkpoints/mlp.pt", "config.json"]  # and the lock that the next writer takes
    assert not (tmp_path / "runs" / "latest").exists()

    monkeypatch.setattr(skops.io, "dump", real_dump)
    code, err = _main(["run", "--resume", str(staging), "--no-progress"], capsys)
    assert code == 0, err
    assert (tmp_path / "runs" / "latest" / "model" / "logistic_regression.skops").is_file()
    assert not staging.exists()


def test_a_device_full_before_the_first_checkpoint_leaves_nothing(
    tmp_path, table, monkeypatch, capsys, prefect_harness
):
    from pipelines.training import checkpoint

    monkeypatch.setattr(checkpoint.torch, "save", _full_device)
    code, err = _main(_run(table, "--output", str(tmp_path / "runs")), capsys)
    assert code == 2, err
    assert "No space left on the device while writing the training checkpoint" in err
    assert not (tmp_path / "runs").exists()
