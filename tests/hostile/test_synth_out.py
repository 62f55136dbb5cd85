"""`devicepipe data synth` asked for more than the machine can hold, or writing to a device that fills up or is
read-only: exit 2 with one message, before anything is written (or with nothing left behind)."""

from __future__ import annotations

import errno
import os
import time
from collections import namedtuple

import pytest

from pipelines.datasets import synth
from tests.flows.cli.test_cli import assert_user_error, devicepipe


def _main(args: list[str], capsys) -> tuple[int, str]:
    from flows.cli import main

    with pytest.raises(SystemExit) as exit_code:
        main(args)
    return exit_code.value.code, capsys.readouterr().err


def test_a_huge_row_count_is_refused_at_once_from_the_command_line(tmp_path):
    started = time.monotonic()
    result = devicepipe("data", "synth", "--rows", "99999999999999", "--out", "big", cwd=tmp_path)
    assert_user_error(result, "makes 100,000,000 files", "Raise --partition-rows (to 1,000,000,000 or more)")
    assert list(tmp_path.iterdir()) == []
    assert time.monotonic() - started < 120  # it read and planned nothing (the limit is a hang, not a timing)


def test_more_rows_than_the_device_holds_are_refused_before_writing(tmp_path, flights_dir, monkeypatch, capsys):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(synth.shutil, "disk_usage", lambda path: usage(2**40, 2**40 - 2**30, 2**30))
    args = ["data", "synth", "--rows", "500000000", "--out", str(tmp_path / "big"), "--data-dir", str(flights_dir)]
    code, err = _main(args, capsys)
    assert code == 2, err
    assert "500,000,000 synthetic flights take about" in err and "1.0 GiB free" in err and "Lower --rows" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_space_estimate_covers_what_is_written(tmp_path, flights_dir):
    """The estimate is an upper bound of the bytes written (at the default partition size's compression)."""
    written = synth.synthesize(tmp_path / "out", 50_000, data_dir=flights_dir, progress=False)
    size = sum(p.stat().st_size for p in (tmp_path / "out" / "flights").iterdir())
    source = flights_dir / "raw" / "flights.parquet"
    per_row = source.stat().st_size / 336_776
    assert written["rows"] * per_row < size * synth.SPACE_MARGIN  # not so loose it refuses what would fit
    assert size < written["rows"] * per_row * synth.SPACE_MARGIN


@pytest.mark.parametrize(
    ("code", "phrase"),
    [(errno.ENOSPC, "No space left on the device while writing the synthetic flights"), (errno.EROFS, "read-only")],
)
def test_a_device_that_fails_half_way_leaves_nothing_and_says_why(
    tmp_path, flights_dir, monkeypatch, capsys, code, phrase
):
    real, calls = synth.pq.write_table, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)

    monkeypatch.setattr(synth.pq, "write_table", failing)
    args = ["data", "synth", "--rows", "30", "--partition-rows", "10", "--out", str(tmp_path / "out")]
    exit_code, err = _main([*args, "--data-dir", str(flights_dir), "--no-progress"], capsys)
    assert exit_code == 2, err
    assert phrase in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_out_is_refused_before_staging(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr("pipelines.files.tempfile.TemporaryFile", refuse)
    from pipelines.errors import OutputError

    with pytest.raises(OutputError, match="read-only file system"):
        synth.synthesize(tmp_path / "out", 10, data_dir=tmp_path / "data", progress=False)
    assert list(tmp_path.iterdir()) == []
