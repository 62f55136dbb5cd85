"""Tables a hostile user brings: columns of nested values (lists, structs, maps). Exit 2 naming them, before any
work, nothing written."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


def test_infinite_values_are_counted_in_every_split(tmp_path):
    """Three infinities, spread over the rows (so over the splits): the message counts all three."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=600), "y": rng.integers(0, 2, 600)})
    frame.loc[[10, 300, 590], "size"] = [np.inf, -np.inf, np.inf]
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = devicepipe("run", "--data", "t.csv", "--target", "y", "--no-progress", cwd=tmp_path)
    assert_user_error(result, "infinite values", "{'size': 3}", "--drop size")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
