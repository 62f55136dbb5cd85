"""Property: whatever small table a user brings (odd types, nulls, infinities, reserved and unicode names, one-row
and one-class splits, text targets), `devicepipe run` and `devicepipe predict` keep the contract: exit 0 with a
complete run, or exit 2 with one message and no run folder; never a traceback.

The command's own entry point runs in this process (as tests/flows/cli/test_output_errors.py does), so that each
generated table costs a run, not a fresh interpreter; the examples are derandomized (the same on every machine).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

KINDS = ("float", "float", "float", "int", "text", "text", "bool", "time", "empty", "constant", "inf")
NAMES = ("size", "städte", "列", "x y", "size_missing", "0", "a.b")  # the reserved __target__: test_user_errors
TARGETS = ("binary", "binary", "labels", "numbers", "nulls", "three", "constant")  # mostly trainable


@st.composite
def tables(draw) -> tuple[pd.DataFrame, str, str]:
    rows = draw(st.sampled_from([1, 7, 40, 200, 200, 200]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    frame = pd.DataFrame({name: _column(draw(st.sampled_from(KINDS)), rows, rng) for name in names})
    target = draw(st.sampled_from(TARGETS))
    frame["y"] = _target(target, rows, rng)
    return frame, draw(st.sampled_from(["parquet", "csv"])), "regression" if target == "numbers" else "classification"


def _column(kind: str, rows: int, rng: np.random.Generator) -> object:
    values = rng.normal(size=rows)
    if kind == "int":
        return rng.integers(-5, 5, rows)
    if kind == "text":
        return rng.choice(["a", "ü", "😀", "", "long value " * 3], rows)
    if kind == "bool":
        return rng.random(rows) < 0.5
    if kind == "time":
        return pd.date_range("2024-01-01", periods=rows, freq="h").strftime("%Y-%m-%dT%H:%M:%S")
    if kind == "empty":
        return np.full(rows, np.nan)
    if kind == "constant":
        return np.ones(rows)
    if kind == "inf":
        values[rng.random(rows) < 0.2] = np.inf
    values[rng.random(rows) < 0.2] = np.nan
    return values


def _target(kind: str, rows: int, rng: np.random.Generator) -> object:
    if kind == "labels":
        return rng.choice(["late", "on time"], rows)
    if kind == "three":
        return rng.integers(0, 3, rows)
    if kind == "constant":
        return np.zeros(rows, dtype="int64")
    if kind == "numbers":
        return rng.normal(size=rows)
    if kind == "nulls":
        return np.where(rng.random(rows) < 0.3, np.nan, rng.integers(0, 2, rows).astype(float))
    return rng.integers(0, 2, rows)


def _main(args: list[str], capsys) -> tuple[int, str]:
    from flows.cli import main

    with pytest.raises(SystemExit) as exit_code:
        main(args)  # anything but SystemExit (an internal error, a traceback) fails the test here
    return exit_code.value.code, capsys.readouterr().err


def _first_words(err: str) -> str:
    message = next((line for line in err.splitlines() if line.startswith("error: ")), "")
    return " ".join(message.split()[1:6])


def _assert_contract(code: int, err: str, runs: Path) -> None:
    assert code in (0, 2), err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    if code == 2:
        messages = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(messages) == 1, err[-3000:]
        assert not [p for p in runs.glob("*") if p.is_dir() and not p.is_symlink()], "a refused run left a folder"


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(table=tables())
def test_run_and_predict_keep_the_contract_on_hostile_tables(prefect_harness, capsys, table):
    frame, suffix, task = table
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data = folder / f"t.{suffix}"
        frame.to_parquet(data) if suffix == "parquet" else frame.to_csv(data, index=False)
        runs = folder / "runs"
        common = ["--no-progress", "--backend", "cpu"]
        args = ["run", "--data", str(data), "--target", "y", "--epochs", "1", "--model", "xgboost"]
        args += ["--task", task, "--output", str(runs), "--data-dir", str(folder / "data"), "--no-cache", *common]
        code, err = _main(args, capsys)
        _assert_contract(code, err, runs)
        event("run: exit 0" if code == 0 else f"run: exit 2 ({_first_words(err)})")
        if code != 0:
            return
        assert (runs / "latest" / "metrics.json").exists()
        new = folder / f"new.{suffix}"
        rows = frame.drop(columns=["y"])
        rows.to_parquet(new) if suffix == "parquet" else rows.to_csv(new, index=False)
        args = ["predict", "--from", str(runs / "latest"), "--data", str(new), "--out", str(folder / "p.parquet")]
        code, err = _main([*args, "--backend", "cpu"], capsys)
        event(f"predict: exit {code}")
        assert code in (0, 2), err[-3000:]
        assert "Traceback" not in err and (code == 0) == (folder / "p.parquet").exists(), err[-3000:]
