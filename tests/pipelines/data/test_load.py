"""Loading Parquet (file, folder, glob) and CSV; bad input is a clear DataError/SchemaError."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.data.load import load, require_columns, resolve
from pipelines.data.validate import column_kind
from pipelines.errors import DataError, SchemaError


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


def test_csv_iso_timestamps_load_as_datetimes(tmp_path, cpu):
    """ISO 8601 strings (date, date and time with T or a space, UTC or an offset) become datetime columns, in UTC."""
    path = tmp_path / "t.csv"
    when = ["2024-01-02T09:00:00", "2024-01-03 10:30", "2024-01-04", "2024-01-05T00:00:00Z"]
    when.append("2024-01-06T01:00:00+01:00")
    pd.DataFrame({"when": when, "code": ["a1", "b2", "c3", "d4", "e5"]}).to_csv(path, index=False)
    frame = load(resolve(path), cpu)
    assert column_kind(frame["when"].dtype) == "datetime"
    assert frame["when"].tolist() == [
        pd.Timestamp(t) for t in ("2024-01-02 09:00", "2024-01-03 10:30", "2024-01-04", "2024-01-05", "2024-01-06")
    ]
    assert column_kind(frame["code"].dtype) == "string"


def test_a_csv_column_with_one_value_that_is_no_timestamp_stays_text(tmp_path, cpu):
    path = tmp_path / "t.csv"
    pd.DataFrame({"when": ["2024-01-02", "soon", "2024-01-04"]}).to_csv(path, index=False)
    frame = load(resolve(path), cpu)
    assert frame["when"].tolist() == ["2024-01-02", "soon", "2024-01-04"]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("name", ["__target__", "__row__", "__fold__", "__label"])
def test_a_column_named_like_the_pipelines_own_columns_is_refused(tmp_path, table, cpu, suffix, name):
    """The pipeline keeps its own columns (the encoded target, row numbers, folds) under names beginning with two
    underscores: an input column of such a name would be overwritten, so it is refused, named."""
    path = tmp_path / f"t.{suffix}"
    frame = table.assign(**{name: [1.0, 2.0, 3.0]})
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    with pytest.raises(SchemaError, match=rf"'{name}'.*reserved.*[Rr]ename"):
        load(resolve(path), cpu)


def _folder(tmp_path, suffix, frames):
    folder = tmp_path / "parts"
    folder.mkdir()
    for name, frame in frames.items():
        path = folder / f"{name}.{suffix}"
        frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    return folder


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_files_of_one_folder_with_different_columns_are_refused_naming_files_and_columns(tmp_path, table, suffix):
    frames = {"a": table, "b": table, "c": table.rename(columns={"x": "x2"})}
    with pytest.raises(SchemaError) as raised:
        resolve(_folder(tmp_path, suffix, frames))
    message = str(raised.value)
    assert f"'x' is missing from c.{suffix}" in message and f"'x2' is missing from a.{suffix}, b.{suffix}" in message


def test_parquet_files_with_conflicting_column_types_are_refused_naming_files_and_types(tmp_path, table):
    frames = {"a": table, "b": table.assign(x=table["x"].astype(str)), "c": table.assign(x=[1, 2, 3])}
    with pytest.raises(SchemaError) as raised:
        resolve(_folder(tmp_path, "parquet", frames))
    message = str(raised.value)
    assert "'x'" in message and "double in a.parquet" in message and "int64 in c.parquet" in message
    assert "string in b.parquet" in message


def test_csv_files_with_numbers_in_one_and_text_in_another_are_refused(tmp_path, table):
    frames = {"a": table, "b": table.assign(x=["one", "two", "three"])}
    with pytest.raises(SchemaError, match=r"'x'.*numeric in a\.csv.*string in b\.csv"):
        resolve(_folder(tmp_path, "csv", frames))


def test_files_that_agree_load_together_whatever_their_column_order_or_empty_columns(tmp_path, table, cpu):
    """A column that is empty in one file (null type), or the columns in another order (CSV), still agree."""
    parquet = _folder(tmp_path, "parquet", {"a": table, "b": table.assign(label=None)})
    assert load(resolve(parquet), cpu)["label"].tolist() == ["a", "b", "a", None, None, None]
    csv = tmp_path / "csv"
    csv.mkdir()
    table.to_csv(csv / "a.csv", index=False)
    table[["label", "x"]].to_csv(csv / "b.csv", index=False)
    assert load(resolve(csv), cpu)["x"].tolist() == [1.0, 2.0, 3.0] * 2
