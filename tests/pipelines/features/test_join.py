"""Join: a lookup table's columns added by keys, rows kept in order, unmatched keys null."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.errors import ConfigError, DataError, SchemaError
from pipelines.features import Join

PLANES = pd.DataFrame({"tail": ["N1", "N2", "N3"], "seats": [150, 200, 50], "maker": ["A", "B", "A"]})


def test_adds_the_table_columns_by_key_and_nulls_where_there_is_no_match():
    frame = pd.DataFrame({"tail": ["N3", "N9", None, "N1", "N3"]}, index=[9, 8, 7, 6, 5])
    op = Join(PLANES, on=["tail"], prefix="plane_").fit(frame)
    assert op.outputs_ == {}  # raw inputs for other ops, not features
    out = op.transform(frame)
    assert list(out.index) == [9, 8, 7, 6, 5]
    assert out["plane_seats"].tolist()[:1] + out["plane_seats"].tolist()[3:] == [50, 150, 50]
    assert out["plane_seats"].isna().tolist() == [False, True, True, False, False]
    assert out["plane_maker"].iloc[0] == "A"
    assert list(out.columns) == ["tail", "plane_seats", "plane_maker"]


def test_chosen_columns_and_several_keys():
    table = pd.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"], "v": [10.0, 20.0, 30.0], "w": [0, 0, 0]})
    frame = pd.DataFrame({"a": [2, 1, 1, 3], "b": ["x", "y", "x", "x"]})
    out = Join(table, on=["a", "b"], columns=["v"]).fit_transform(frame)
    assert out["v"].tolist()[:3] == [30.0, 20.0, 10.0]
    assert np.isnan(out["v"].iloc[3])
    assert "w" not in out.columns


def test_integer_keys_match_float_keys_with_nulls():
    table = pd.DataFrame({"k": [1, 2], "v": ["one", "two"]})
    op = Join(table, on=["k"]).fit(pd.DataFrame({"k": [1, 2]}))
    out = op.transform(pd.DataFrame({"k": [2.0, np.nan, 1.0]}))
    assert out["v"].iloc[0] == "two" and out["v"].iloc[2] == "one" and pd.isna(out["v"].iloc[1])


def test_repeated_keys_clashing_names_and_absent_columns_are_clear_errors():
    frame = pd.DataFrame({"tail": ["N1"], "seats": [1]})
    with pytest.raises(DataError, match="repeat a key"):
        Join(pd.concat([PLANES, PLANES]), on=["tail"]).fit(frame)
    with pytest.raises(SchemaError, match="prefix"):
        Join(PLANES, on=["tail"]).fit(frame)
    with pytest.raises(ConfigError, match="no column"):
        Join(PLANES, on=["tail"], columns=["engines"]).fit(frame)


def test_key_of_another_kind_than_in_training_is_a_schema_error():
    op = Join(PLANES, on=["tail"]).fit(pd.DataFrame({"tail": ["N1"]}))
    with pytest.raises(SchemaError, match="'tail'"):
        op.transform(pd.DataFrame({"tail": [1, 2]}))
