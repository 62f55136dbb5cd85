"""`devicepipe predict --out` as a hostile user gives it: an output that is an input, a folder, a file among the
inputs or inside the run, a suffix that names no format. Each is exit 2 before any row is read, the input
untouched; `--out x.csv` writes CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import OutputError
from tests.conftest import write_table
from tests.flows.cli.test_cli import assert_user_error, devicepipe
from tests.hostile.conftest import train_small


@pytest.fixture(scope="module")
def bundle(prefect_harness, tmp_path_factory):
    """A small run's bundle, trained in this process (the subject here is scoring)."""
    from pipelines.scoring.predict import open_bundle

    data = write_table(tmp_path_factory.mktemp("trained") / "train.parquet", 400)
    return open_bundle(train_small(data, "y", "logistic_regression"))


def _new_rows(path: Path) -> Path:
    return write_table(path, 50)


def test_out_that_is_the_input_is_refused_and_the_input_kept(bundle, tmp_path):
    data = _new_rows(tmp_path / "new.csv")
    before = data.read_bytes()
    result = devicepipe(
        "predict", "--from", str(bundle.run_dir), "--data", "new.csv", "--out", str(data), cwd=tmp_path
    )
    assert_user_error(result, f"--out {data} is an input file", "Choose another --out")
    assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv"]


def test_out_ending_in_csv_writes_csv(bundle, tmp_path):
    _new_rows(tmp_path / "new.parquet")
    result = devicepipe(
        "predict", "--from", str(bundle.run_dir), "--data", "new.parquet", "--out", "p.csv", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = pd.read_csv(tmp_path / "p.csv")
    assert list(written.columns) == ["probability", "prediction"] and len(written) == 50
    assert written["probability"].between(0, 1).all()
    assert (tmp_path / "p.drift.json").exists()


def _refusal(bundle, out: Path | str, data: Path | str) -> str:
    with pytest.raises(OutputError) as raised:
        from pipelines.scoring.predict import check_out

        check_out(out, data, bundle)
    return str(raised.value)


def test_out_that_is_a_folder(bundle, tmp_path):
    data = _new_rows(tmp_path / "new.parquet")
    (tmp_path / "preds").mkdir()
    assert "is a folder" in _refusal(bundle, tmp_path / "preds", data)


@pytest.mark.parametrize("name", ["p.txt", "p", "p.json", "p.parquet.bak"])
def test_out_whose_suffix_names_no_format(bundle, tmp_path, name):
    data = _new_rows(tmp_path / "new.parquet")
    message = _refusal(bundle, tmp_path / name, data)
    assert "expected .parquet" in message and ".csv" in message
    assert not (tmp_path / name).exists()


def test_out_through_another_spelling_or_a_link_to_the_input(bundle, tmp_path):
    data = _new_rows(tmp_path / "new.parquet")
    (tmp_path / "sub").mkdir()
    assert "is an input file" in _refusal(bundle, tmp_path / "sub" / ".." / "new.parquet", data)
    (tmp_path / "link.parquet").symlink_to(data)
    assert "is an input file" in _refusal(bundle, tmp_path / "link.parquet", data)


def test_out_among_the_files_a_folder_or_glob_names(bundle, tmp_path):
    (tmp_path / "new").mkdir()
    _new_rows(tmp_path / "new" / "part-0.parquet")
    assert "among the files --data" in _refusal(bundle, tmp_path / "new" / "preds.parquet", tmp_path / "new")
    assert "among the files --data" in _refusal(bundle, tmp_path / "new" / "p.parquet", f"{tmp_path}/new/*.parquet")


def test_out_inside_the_run_folder(bundle, tmp_path):
    data = _new_rows(tmp_path / "new.parquet")
    assert "inside the run folder" in _refusal(bundle, bundle.run_dir / "preds.parquet", data)
    assert not (bundle.run_dir / "preds.parquet").exists()


def test_a_fine_out_is_returned(bundle, tmp_path):
    from pipelines.scoring.predict import check_out

    data = _new_rows(tmp_path / "new.parquet")
    assert check_out(tmp_path / "out" / "p.PARQUET", data, bundle) == tmp_path / "out" / "p.PARQUET"


def test_the_score_flow_refuses_it_too(bundle, tmp_path):
    from flows.score import score

    data = _new_rows(tmp_path / "new.parquet")
    before = data.read_bytes()
    with pytest.raises(OutputError, match="is an input file"):
        score(data=str(data), model=str(bundle.run_dir), out=str(data), backend="cpu")
    assert data.read_bytes() == before
