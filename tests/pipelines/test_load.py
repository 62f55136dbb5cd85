"""Loading Parquet (file, folder, glob) and CSV; bad input is a clear DataError/SchemaError."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.errors import DataError, SchemaError
from pipelines.load import load, require_columns, resolve


@pytest.fixture
def table():
    return pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "a"]})


def test_one_parquet_file(tmp_path, table, cpu):
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    source = resolve(path)
    assert source.format == "parquet" and source.columns == ["x", "label"]
    pd.testing.assert_frame_equal(load(source, cpu), table)


def test_folder_and_glob(tmp_path, table, cpu):
    (tmp_path / "parts").mkdir()
    table.to_parquet(tmp_path / "parts" / "a.parquet")
    table.to_parquet(tmp_path / "parts" / "b.parquet")
    assert len(load(resolve(tmp_path / "parts"), cpu)) == 6
    assert len(load(resolve(str(tmp_path / "parts" / "*.parquet")), cpu)) == 6


def test_csv(tmp_path, table, cpu):
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    source = resolve(path)
    assert source.format == "csv" and source.columns == ["x", "label"]
    assert load(source, cpu)["x"].tolist() == [1.0, 2.0, 3.0]


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        resolve(tmp_path / "nope.parquet")


def test_corrupt_parquet_is_reported_before_reading(tmp_path, table):
    path = tmp_path / "bad.parquet"
    table.to_parquet(path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match="not a readable Parquet file"):
        resolve(path)


def test_unknown_suffix(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_text("x")
    with pytest.raises(DataError, match="Expected files ending in"):
        resolve(path)


def test_missing_column_lists_what_exists(tmp_path, table):
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    with pytest.raises(SchemaError, match=r"'y'.*has only: x, label"):
        require_columns(resolve(path), ["y"], "target column")
