"""Where a run writes: the output folder is checked before any work, and a full or unwritable device is an
OutputError that says so, with nothing half-written left behind. The device's failures are injected at the write
layer (OSError with errno ENOSPC, EROFS, EACCES): this suite runs as root, which no file mode stops."""

from __future__ import annotations

import errno
import os
from collections import namedtuple

import pytest

from pipelines import files as output
from pipelines.errors import OutputError
from pipelines.files import atomic_path, write_text_atomic


def test_a_folder_that_can_be_written_passes(tmp_path):
    output.check_writable(tmp_path / "runs" / "deeper", "--output")
    assert list(tmp_path.iterdir()) == []  # the check writes nothing that stays


def test_an_output_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "sales.csv").write_text("x\n1\n")
    with pytest.raises(OutputError, match=r"--output .*sales\.csv/runs.*sales\.csv is a file"):
        output.check_writable(tmp_path / "sales.csv" / "runs", "--output")


def test_an_output_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "runs").write_text("")
    with pytest.raises(OutputError, match="is a file"):
        output.check_writable(tmp_path / "runs", "--output")


def test_a_read_only_file_system_is_named_as_such_where_os_access_also_says_no(tmp_path, monkeypatch):
    """os.access answers "no" alike for a read-only file system and a folder without permission: the reason
    comes from the failed write, not from the mode bits."""

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(output.os, "access", lambda path, mode: False)
    monkeypatch.setattr(output.tempfile, "TemporaryFile", refuse)
    with pytest.raises(OutputError, match=r"cannot be written: a read-only file system") as raised:
        output.check_writable(tmp_path / "runs", "--output")
    assert "permission" not in str(raised.value)


@pytest.mark.parametrize(("code", "phrase"), [(errno.EROFS, "read-only"), (errno.EACCES, "ermission")])
def test_a_folder_where_no_file_can_be_made_is_refused(tmp_path, monkeypatch, code, phrase):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(output.tempfile, "TemporaryFile", refuse)
    with pytest.raises(OutputError, match=rf"cannot be written.*{phrase}"):
        output.check_writable(tmp_path / "runs", "--output")


def test_a_full_device_is_refused_before_any_work(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(output.shutil, "disk_usage", lambda path: usage(10**9, 10**9, 4096))
    with pytest.raises(OutputError, match=r"No space left on the device.*4\.0 KiB free"):
        output.check_writable(tmp_path / "runs", "--output")


def test_writing_turns_a_full_device_into_an_output_error_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "metrics.json"
    expected = r"No space left on the device while writing the run.*metrics\.json"
    with pytest.raises(OutputError, match=expected), output.writing("the run", "--output"), atomic_path(target) as tmp:
        tmp.write_text('{"half": ')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
    assert list(tmp_path.iterdir()) == []


def test_other_os_errors_pass_through_unchanged(tmp_path):
    with pytest.raises(OSError) as raised, output.writing("the run", "--output"):
        raise OSError(errno.EIO, "I/O error")
    assert not isinstance(raised.value, OutputError)


def test_a_temporary_file_keeps_the_suffix_its_writer_reads_the_format_from(tmp_path):
    with atomic_path(tmp_path / "xgboost.json", keep_suffix=True) as tmp:
        assert tmp.suffix == ".json" and tmp.name.startswith(".")
        tmp.write_text("{}")
    assert write_text_atomic(tmp_path / "a.txt", "a").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "xgboost.json"]
