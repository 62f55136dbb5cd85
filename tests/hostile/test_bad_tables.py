"""Tables a hostile user brings: columns of nested values (lists, structs, maps). Exit 2 naming them, before any
work, nothing written."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from tests.flows.cli.test_cli import assert_user_error, devicepipe


def test_nested_columns_are_refused_by_name_before_any_work(tmp_path):
    table = pa.table(
        {
            "x": [1.0, 2.0, 3.0, 4.0] * 25,
            "tags": [["a"], ["b", "c"], [], ["a"]] * 25,
            "meta": [{"k": 1}, {"k": 2}, {"k": 3}, {"k": 4}] * 25,
            "y": [0, 1, 0, 1] * 25,
        }
    )
    pq.write_table(table, tmp_path / "nested.parquet")
    result = devicepipe("run", "--data", "nested.parquet", "--target", "y", "--no-progress", cwd=tmp_path)
    assert_user_error(result, "'tags' (list<", "'meta' (struct<k: int64>)", "--drop tags --drop meta")
    assert "Flow run" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nested.parquet"]
