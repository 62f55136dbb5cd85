"""Run directories appear whole or not at all; latest moves atomically; the manifest hashes every file."""

from __future__ import annotations

import hashlib
import json

from pipelines.rundir import RunDirectory


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
    assert sorted(p.name for p in run.staging.rglob("*") if p.is_file()) == ["config.json", "mlp.pt"]
    (run.staging / "checkpoints" / ".mlp.pt.k2j4x_.tmp").write_text("half")
    (run.staging / ".metrics.json.a8df_3.tmp").write_text("{")
    again = RunDirectory.reopen(run.staging)
    final = again.commit({})
    assert set(json.loads((final / "manifest.json").read_text())["files"]) == {"config.json", "checkpoints/mlp.pt"}

