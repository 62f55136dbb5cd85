"""`devicepipe runs [DIR]` and `devicepipe runs compare RUN RUN...` through the real command, on real runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.flows.cli.test_cli import assert_user_error, devicepipe


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Two real runs (1 and 2 MLP epochs) in `runs/`, an interrupted run's folder, and a broken run folder."""
    folder = tmp_path_factory.mktemp("runs-cli")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    frame["y"] = (frame["x"] + rng.normal(scale=0.5, size=300) > 0).astype(int)
    frame.to_csv(folder / "sales.csv", index=False)
    for epochs in ("1", "2"):
        args = ["run", "--data", "sales.csv", "--target", "y", "--epochs", epochs, "--model", "logistic_regression"]
        result = devicepipe(*args, "--no-progress", "--backend", "cpu", cwd=folder)
        assert result.returncode == 0, result.stderr[-3000:]
    interrupted = folder / "runs" / ".incomplete-20200101T000000Z-000000"
    (interrupted / "checkpoints").mkdir(parents=True)
    (interrupted / "config.json").write_text('{"dataset": "table", "data": "sales.csv"}')
    broken = folder / "runs" / "20200102T000000Z-111111"
    broken.mkdir()
    (broken / "manifest.json").write_text("{}")
    return folder


def _complete(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "runs").iterdir() if p.name[:1].isdigit() and p.name[-6:] != "111111")


def test_runs_lists_the_runs_newest_first(folder):
    result = devicepipe("runs", cwd=folder)
    assert result.returncode == 0, result.stderr
    older, newer = _complete(folder)
    lines = result.stdout.splitlines()
    order = [next(i for i, line in enumerate(lines) if line.startswith(n)) for n in (newer, older)]
    assert order[0] < order[1]
    assert f"{newer} *" in lines[order[0]] and "sales.csv" in lines[order[0]]
    assert "cpu" in lines[order[0]] and "auc 0." in lines[order[0]] and max(map(len, lines[: lines.index("")])) <= 80
    assert "(interrupted)" in result.stdout and "devicepipe run --resume" in result.stdout
    assert "(unreadable)" in result.stdout and "metrics.json is missing" in result.stdout
    assert devicepipe("runs", "runs", cwd=folder).stdout == result.stdout


def test_compare_shows_two_runs_side_by_side(folder):
    older, newer = _complete(folder)
    result = devicepipe("runs", "compare", older, str(folder / "runs" / newer), cwd=folder)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[0][:2] == ["A", older] and lines[1][:2] == ["B", newer]
    mlp = lines[lines.index(["mlp:"]) :]
    assert any(line[:2] == ["test", "auc"] and len(line) == 5 for line in mlp)  # A, B and B - A
    assert any(line[:1] == ["train"] and len(line) == 4 for line in lines)
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert ["epochs:", "A", "1", "B", "2"] in lines


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["runs", "nowhere"], "nowhere does not exist"),
        (["runs", "sales.csv"], "not a folder"),
        (["runs", "one", "two"], "one folder"),
        (["runs", "compare"], "at least two runs"),
        (["runs", "compare", "20200102T000000Z-111111", "latest"], "cannot be read"),
        (["runs", "compare", "latest", ".incomplete-20200101T000000Z-000000"], "incomplete"),
    ],
)
def test_bad_arguments_exit_2_with_one_message(folder, args, phrase):
    assert_user_error(devicepipe(*args, cwd=folder), phrase)


def test_an_unknown_option_is_a_usage_error(folder):
    result = devicepipe("runs", "--bogus", cwd=folder)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "Usage" in result.stderr
