"""Run directories appear whole or not at all; latest moves atomically; the manifest hashes every file."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil

import pytest

from pipelines.errors import ConfigError
from pipelines.runs.rundir import RUN_LOCK, RunDirectory, running


def test_commit_renames_and_points_latest(tmp_path):
    run = RunDirectory(tmp_path)
    run.write_json("metrics.json", {"a": 1})
    run.write_text("model/w.txt", "weights")
    assert not run.final.exists()
    final = run.commit({"config": {}})
    assert final.is_dir() and not run.staging.exists()
    assert (tmp_path / "latest").resolve() == final.resolve()
    manifest = json.loads((final / "manifest.json").read_text())
    expected = hashlib.sha256(b"weights").hexdigest()
    assert manifest["files"]["model/w.txt"] == expected
    assert set(manifest["files"]) == {"metrics.json", "model/w.txt"}


def test_abort_leaves_nothing(tmp_path):
    run = RunDirectory(tmp_path / "runs")
    run.write_text("x", "partial")
    run.abort()
    assert list(tmp_path.iterdir()) == []


def test_abort_keeps_an_output_folder_it_did_not_make(tmp_path):
    RunDirectory(tmp_path).commit({})
    run = RunDirectory(tmp_path)
    run.abort()
    assert tmp_path.exists() and not run.staging.exists() and (tmp_path / "latest").exists()


def test_two_runs_never_share_a_folder(tmp_path):
    first, second = RunDirectory(tmp_path), RunDirectory(tmp_path)
    assert first.name != second.name
    first.commit({})
    second.commit({})
    assert (tmp_path / "latest").resolve() == second.final.resolve()
    assert len([p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink()]) == 2


def test_every_file_is_written_whole_and_a_resume_drops_what_a_killed_writer_left(tmp_path):
    """A process killed while writing leaves at most a hidden temporary file: resuming removes it, so the
    manifest never lists half a file."""
    run = RunDirectory(tmp_path)
    run.write_json("config.json", {"epochs": 1})
    run.write_text("checkpoints/mlp.pt", "whole")
    assert sorted(p.name for p in run.staging.rglob("*") if p.is_file()) == [".run.lock", "config.json", "mlp.pt"]
    (run.staging / "checkpoints" / ".mlp.pt.k2j4x_.tmp").write_text("half")
    (run.staging / ".metrics.json.a8df_3.tmp").write_text("{")
    run.release()  # the writer ended
    again = RunDirectory.reopen(run.staging)
    final = again.commit({})
    assert set(json.loads((final / "manifest.json").read_text())["files"]) == {"config.json", "checkpoints/mlp.pt"}


def test_latest_is_the_newest_run_whichever_finishes_last(tmp_path):
    """Two runs finishing out of order: the one started later stays latest when the earlier one finishes."""
    older = RunDirectory(tmp_path, "20240101T000000Z-aaaaaa")
    newer = RunDirectory(tmp_path, "20240102T000000Z-bbbbbb")
    newer.commit({})
    older.commit({})
    assert (tmp_path / "latest").resolve() == newer.final.resolve()
    newest = RunDirectory(tmp_path)  # named by the time now
    newest.commit({})
    assert (tmp_path / "latest").resolve() == newest.final.resolve()


def test_latest_goes_to_a_run_when_the_one_it_named_was_deleted(tmp_path):
    newer = RunDirectory(tmp_path, "20240102T000000Z-bbbbbb")
    newer.commit({})
    shutil.rmtree(newer.final)
    older = RunDirectory(tmp_path, "20240101T000000Z-aaaaaa")
    older.commit({})
    assert (tmp_path / "latest").resolve() == older.final.resolve()


def _commit_at(root: str, name: str, start) -> None:
    run = RunDirectory(root, name)
    start.wait()
    run.commit({})


def test_runs_finishing_at_once_leave_latest_on_the_newest(tmp_path):
    """Eight processes commit at the same moment, in no order: latest names the newest run."""
    context = multiprocessing.get_context("spawn")
    names = [f"202401{day:02d}T000000Z-{day:06x}" for day in (3, 8, 1, 6, 2, 7, 5, 4)]
    start = context.Barrier(len(names))
    workers = [context.Process(target=_commit_at, args=(str(tmp_path), name, start)) for name in names]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert os.readlink(tmp_path / "latest") == max(names)


def test_a_folder_being_written_is_locked_until_its_writer_lets_go(tmp_path):
    """The writer holds the folder's lock: a second writer and a resume are refused naming its pid; released (or
    its process gone), the folder resumes at once. Commit and abort let go too."""
    run = RunDirectory(tmp_path)
    run.write_json("config.json", {"epochs": 1})
    assert running(run.staging) == os.getpid()
    with pytest.raises(ConfigError, match=rf"still running \(pid {os.getpid()}\).*kill {os.getpid()}"):
        RunDirectory.reopen(run.staging)
    with pytest.raises(ConfigError, match="being written by another process"):
        RunDirectory(tmp_path, run.name)
    run.release()
    assert running(run.staging) is None
    again = RunDirectory.reopen(run.staging)
    assert running(again.staging) == os.getpid()
    final = again.commit({})
    assert running(final) is None and not (final / RUN_LOCK).exists()
    assert "files" in json.loads((final / "manifest.json").read_text())
    assert RUN_LOCK not in json.loads((final / "manifest.json").read_text())["files"]


def _hold_and_wait(folder, ready, done):
    run = RunDirectory(folder, "20260101T000000Z-abcdef")
    run.write_json("config.json", {"epochs": 1})
    ready.set()
    done.wait(60)


def test_the_lock_of_a_killed_writer_is_free_at_once(tmp_path):
    context = multiprocessing.get_context("spawn")
    ready, done = context.Event(), context.Event()
    writer = context.Process(target=_hold_and_wait, args=(tmp_path, ready, done))
    writer.start()
    try:
        assert ready.wait(60)
        staging = tmp_path / ".incomplete-20260101T000000Z-abcdef"
        assert running(staging) == writer.pid
        with pytest.raises(ConfigError, match=f"pid {writer.pid}"):
            RunDirectory.reopen(staging)
    finally:
        writer.kill()
        writer.join()
    assert running(staging) is None
    RunDirectory.reopen(staging).abort()
    assert not staging.exists()
