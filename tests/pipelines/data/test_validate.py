"""Validation reports every failure at once, each with column, expectation, finding and samples."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.data.validate import Rule, column_kind, validate
from pipelines.errors import DataError, SchemaError


def test_all_value_problems_at_once(cpu):
    frame = pd.DataFrame({"hour": [1, 25, 30], "name": ["a", None, "c"], "id": [1, 1, 2]})
    rules = {"hour": Rule("numeric", min=0, max=23), "name": Rule("string", nullable=False), "id": Rule("numeric")}
    with pytest.raises(DataError) as caught:
        validate(frame, rules, cpu, unique=["id"], name="t")
    message = str(caught.value)
    assert "3 problem(s) in t" in message
    assert "'hour': expected values in [0, 23], found 2 outside, e.g. [25, 30]" in message
    assert "'name': expected no nulls, found 1 of 3" in message
    assert "expected unique rows, found 1 duplicated" in message


def test_schema_problems_come_first_and_together(cpu):
    frame = pd.DataFrame({"hour": ["x"], "other": [1]})
    rules = {"hour": Rule("numeric"), "missing": Rule("string")}
    with pytest.raises(SchemaError) as caught:
        validate(frame, rules, cpu)
    message = str(caught.value)
    assert "'missing': expected it to exist" in message and "'hour': expected numeric, found" in message


def test_valid_frame_passes(cpu):
    validate(pd.DataFrame({"a": [1, 2]}), {"a": Rule("numeric", nullable=False, min=0)}, cpu)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([1, 2], "numeric"),
        ([1.5, None], "numeric"),
        ([True, False], "bool"),
        (["a", "b"], "string"),
        (pd.to_datetime(["2013-01-01"]), "datetime"),
    ],
)
def test_column_kind(values, kind):
    assert column_kind(pd.Series(values).dtype) == kind
    assert column_kind(pd.Series(values).astype("category").dtype) == "string" or kind != "string"
