"""Feature ops: the scikit-learn contract checked over every op (fit/transform on tiny frames, nulls, dtypes,
row order, a save/load round trip through JSON and Parquet), then the behaviour of the first ops (CPU backend).
The newer ops have a test module each (test_<op>.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.data.target import TARGET
from pipelines.errors import ConfigError, DataError, SchemaError
from pipelines.features import (
    Bucketize,
    Categorify,
    Clip,
    ConcatColumns,
    DatetimeParts,
    FillMissing,
    GroupbyAggregate,
    GroupCount,
    Join,
    Log1p,
    Op,
    Standardize,
    TargetEncode,
)
from pipelines.features import state as op_state
from pipelines.features.base import CATEGORICAL, NUMERIC, NotFittedError, is_table


def _train() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "carrier": ["UA", "AA", "UA", None, "DL", "UA"],
            "origin": ["JFK", "LGA", "EWR", "JFK", "JFK", "LGA"],
            "dest": ["LAX", "ORD", "LAX", "SFO", "ORD", "LAX"],
            "when": pd.to_datetime(
                [
                    "2013-01-01 05:30",
                    "2013-01-02 06:00",
                    "2013-02-03 17:15",
                    "2013-03-10 23:59",
                    "2013-06-15 00:00",
                    "2013-09-30 12:45",
                ]
            ),
            "distance": [2475.0, np.nan, 2454.0, 2586.0, 733.0, 2475.0],
            "delay": [1, -3, 12, 0, 7, 2],
            TARGET: np.array([1, 0, 1, 0, 0, 1], dtype="float32"),
        }
    )


AIRPORTS = pd.DataFrame({"origin": ["JFK", "LGA", "EWR", "BOS"], "altitude": [13.0, 22.0, 18.0, 19.0]})


def _new_rows() -> pd.DataFrame:
    """Rows seen at transform time only: an unseen carrier and route, a null distance."""
    return pd.DataFrame(
        {
            "carrier": ["B6", "AA", None],
            "origin": ["EWR", "JFK", "LGA"],
            "dest": ["BOS", "LAX", "ORD"],
            "when": pd.to_datetime(["2013-10-01 08:00", "2013-11-11 11:11", "2013-12-31 23:00"]),
            "distance": [187.0, np.nan, 733.0],
            "delay": [5, 0, -1],
        }
    )


def _nulls() -> pd.DataFrame:
    """New rows where every value is missing (an integer column turns float, as it does with nulls)."""
    return pd.DataFrame(
        {
            "carrier": pd.Series([None, None], dtype=object),
            "origin": pd.Series([None, None], dtype=object),
            "dest": pd.Series([None, None], dtype=object),
            "when": pd.to_datetime([None, None]),
            "distance": [np.nan, np.nan],
            "delay": [np.nan, np.nan],
        }
    )


# Every op in pipelines.features, with the input column the SchemaError check removes.
CASES: dict[str, tuple[Callable[[], Op], str]] = {
    "Bucketize": (lambda: Bucketize(["distance", "delay"], bins=3), "distance"),
    "Categorify": (lambda: Categorify(["carrier", "origin"], min_count=1, max_categories=50), "origin"),
    "Clip": (lambda: Clip(["distance", "delay"], lower=0.0, upper_quantile=0.9), "delay"),
    "ConcatColumns": (lambda: ConcatColumns(["origin", "dest"], name="route", sep="/"), "dest"),
    "DatetimeParts": (lambda: DatetimeParts("when", parts=("hour", "dayofweek", "month"), cyclical=("hour",)), "when"),
    "FillMissing": (lambda: FillMissing(["distance", "delay"], indicator=True), "distance"),
    "GroupCount": (lambda: GroupCount(["origin"], time_column="when", period="D"), "origin"),
    "GroupbyAggregate": (lambda: GroupbyAggregate(["origin"], ["distance", "delay"]), "origin"),
    "Join": (lambda: Join(AIRPORTS, on=["origin"], prefix="origin_"), "origin"),
    "Log1p": (lambda: Log1p(["delay", "distance"]), "delay"),
    "Standardize": (lambda: Standardize(["distance", "delay"]), "delay"),
    "TargetEncode": (lambda: TargetEncode(["carrier", "origin"], folds=2, smoothing=2.0), "carrier"),
}
USES_TARGET = {"TargetEncode"}  # its training-split output is out-of-fold, not `transform`
FILLS_NULLS = {"FillMissing", "GroupCount", "GroupbyAggregate", "TargetEncode"}  # numeric outputs never null


def test_common_cases_cover_every_feature_op():
    import pipelines.features

    ops = {name for name, cls in Op.registry.items() if cls.__module__.startswith("pipelines.features")}
    exported = {name for name in pipelines.features.__all__ if name in Op.registry}
    assert ops == set(CASES) == exported


@pytest.fixture(params=sorted(CASES))
def make_op(request) -> Callable[[], Op]:
    return CASES[request.param][0]


def _same(a, b) -> bool:
    """Equality that also compares tables (a Join's lookup) by value."""
    if is_table(a) or is_table(b):
        return is_table(a) and is_table(b) and a.equals(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_init_only_stores_params_and_get_params_round_trips(make_op):
    op = make_op()
    params = op.get_params()
    assert set(vars(op)) == set(params)
    assert not any(name.endswith("_") for name in vars(op))
    clone = type(op)(**params)
    assert _same(clone.get_params(), params)
    assert repr(clone) == repr(op)
    assert len(repr(op)) < 300  # tables are summarised, not printed


def test_fit_returns_self_and_learned_state_ends_in_underscore(make_op):
    op = make_op()
    before = set(vars(op))
    assert op.fit(_train()) is op
    learned = set(vars(op)) - before
    assert "outputs_" in learned
    assert all(name.endswith("_") for name in learned)
    assert set(op.get_state()) == learned
    assert set(op.outputs_.values()) <= {NUMERIC, CATEGORICAL}


def test_fit_does_not_modify_its_input(make_op):
    frame = _train()
    make_op().fit_transform(frame)
    pd.testing.assert_frame_equal(frame, _train())


def test_transform_before_fit_raises_not_fitted(make_op):
    with pytest.raises(NotFittedError, match="not fitted"):
        make_op().transform(_train())


@pytest.mark.parametrize("name", sorted(CASES))
def test_transform_missing_column_raises_schema_error(name):
    make, column = CASES[name]
    op = make().fit(_train())
    with pytest.raises(SchemaError, match=column):
        op.transform(_new_rows().drop(columns=[column]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_missing_column_raises_schema_error(name):
    make, column = CASES[name]
    with pytest.raises(SchemaError, match=column):
        make().fit(_train().drop(columns=[column]))


def test_state_round_trip_through_json_and_parquet_gives_identical_output(make_op, tmp_path):
    op = make_op().fit(_train())
    document, written = tmp_path / "op.json", []
    write = op_state.table_writer(document, written)
    saved = json.dumps(
        {"params": op_state.dump(op.get_params(), "p", write), "state": op_state.dump(op.get_state(), "s", write)}
    )
    assert all(path.suffix == ".parquet" and path.parent == tmp_path for path in written)
    loaded, read = json.loads(saved), op_state.table_reader(document)
    restored = type(op)(**op_state.restore(loaded["params"], read)).set_state(op_state.restore(loaded["state"], read))
    for frame in (_train(), _new_rows(), _nulls()):
        pd.testing.assert_frame_equal(restored.transform(frame), op.transform(frame))
    pd.testing.assert_frame_equal(restored.transform_train(_train()), op.transform_train(_train()))
    assert restored.cardinalities == op.cardinalities


@pytest.mark.parametrize("rows", [_train, _new_rows, _nulls], ids=["train", "new", "all-null"])
def test_outputs_have_their_declared_dtypes_and_categorical_codes_are_never_null(make_op, rows):
    op = make_op().fit(_train())
    out = op.transform(rows())
    assert len(out) == len(rows())
    for column, kind in op.outputs_.items():
        assert out[column].dtype == (np.float32 if kind == NUMERIC else np.int32), column
        if kind == CATEGORICAL:
            assert out[column].between(0, op.cardinalities[column] - 1).all(), column
        elif type(op).__name__ in FILLS_NULLS:
            assert not out[column].isna().any(), column


def test_other_columns_pass_through_unchanged(make_op):
    op = make_op().fit(_train())
    out = op.transform(_new_rows())
    untouched = [c for c in _new_rows().columns if c not in op.outputs_]
    pd.testing.assert_frame_equal(out[untouched], _new_rows()[untouched])


def test_permuting_the_rows_permutes_the_output(make_op):
    """Row order and index are kept (cuDF's merge reorders rows: the lookups must put them back)."""
    op = make_op().fit(_train())
    frame = _train().set_index(pd.Index([50, 10, 40, 0, 30, 20]))
    order = [3, 0, 5, 1, 4, 2]
    pd.testing.assert_frame_equal(op.transform(frame.iloc[order]), op.transform(frame).iloc[order])


def test_transform_train_is_transform_unless_the_op_learns_from_the_target(make_op):
    op = make_op().fit(_train())
    same = op.transform_train(_train()).equals(op.transform(_train()))
    assert same is (type(op).__name__ not in USES_TARGET)


# --- Categorify -------------------------------------------------------------------------------------------
def test_categorify_known_values_get_codes_one_to_k_and_unseen_and_null_get_zero():
    op = Categorify(["carrier"]).fit(_train())
    assert op.categories_ == {"carrier": ["AA", "DL", "UA"]}
    out = op.transform(pd.DataFrame({"carrier": ["AA", "DL", "UA", "B6", None, "UA"]}))
    assert out["carrier"].tolist() == [1, 2, 3, 0, 0, 3]
    assert out["carrier"].dtype == np.int32
    assert op.cardinalities == {"carrier": 4}


def test_categorify_min_count_sends_rare_values_to_zero():
    frame = pd.DataFrame({"c": ["a"] * 3 + ["b"] * 2 + ["c"]})
    op = Categorify(["c"], min_count=2).fit(frame)
    assert op.categories_["c"] == ["a", "b"]
    assert op.transform(frame)["c"].tolist() == [1, 1, 1, 2, 2, 0]
    assert op.cardinalities == {"c": 3}


def test_categorify_max_categories_keeps_the_most_frequent():
    frame = pd.DataFrame({"c": ["x"] * 4 + ["y"] * 3 + ["z"] * 2 + ["w"]})
    op = Categorify(["c"], max_categories=2).fit(frame)
    assert op.categories_["c"] == ["x", "y"]
    assert op.transform(frame)["c"].value_counts().to_dict() == {1: 4, 2: 3, 0: 3}


def test_categorify_integer_column_and_float_nulls_at_transform_time():
    op = Categorify(["n"]).fit(pd.DataFrame({"n": [10, 20, 20, 30]}))
    out = op.transform(pd.DataFrame({"n": [10.0, np.nan, 30.0, 99.0]}))
    assert out["n"].tolist() == [1, 0, 3, 0]
    assert out["n"].dtype == np.int32


def test_categorify_leaves_other_columns_alone():
    frame = _train()
    out = Categorify(["carrier"]).fit_transform(frame)
    pd.testing.assert_frame_equal(out.drop(columns=["carrier"]), frame.drop(columns=["carrier"]))
    assert frame["carrier"].iloc[0] == "UA"


@settings(max_examples=60, deadline=None)
@given(
    train=st.lists(st.one_of(st.none(), st.sampled_from(list("abcdefgh"))), min_size=1, max_size=40),
    new=st.lists(st.one_of(st.none(), st.text(alphabet="abcdefghxyz", max_size=2)), min_size=1, max_size=40),
    min_count=st.integers(1, 4),
    max_categories=st.integers(1, 10),
)
def test_categorify_codes_are_always_within_cardinality(train, new, min_count, max_categories):
    op = Categorify(["c"], min_count=min_count, max_categories=max_categories)
    op.fit(pd.DataFrame({"c": pd.Series(train, dtype=object)}))
    cardinality = op.cardinalities["c"]
    assert 1 <= cardinality <= max_categories + 1
    codes = op.transform(pd.DataFrame({"c": pd.Series(new, dtype=object)}))["c"]
    assert codes.dtype == np.int32
    assert codes.between(0, cardinality - 1).all()
    known = set(op.categories_["c"])
    assert [code > 0 for code in codes] == [value in known for value in new]


def test_categorify_hashes_values_beyond_the_kept_categories_into_buckets():
    frame = pd.DataFrame({"c": ["x"] * 4 + ["y"] * 3 + ["z"] * 2 + ["w"]})
    op = Categorify(["c"], max_categories=2, hash_buckets=5).fit(frame)
    assert op.categories_["c"] == ["x", "y"]
    assert op.hasher_ == "pandas"
    assert op.cardinalities == {"c": 1 + 2 + 5}
    codes = op.transform(pd.DataFrame({"c": ["x", "y", "z", "w", "never-seen", None, "z"]}))["c"].tolist()
    assert codes[:2] == [1, 2]
    assert all(3 <= code <= 7 for code in codes[2:5])
    assert codes[5] == 0  # null keeps the reserved code
    assert codes[6] == codes[2]  # the same value, the same bucket


def test_categorify_hashed_integers_keep_their_codes_when_nulls_turn_them_float():
    op = Categorify(["n"], max_categories=1, hash_buckets=50).fit(pd.DataFrame({"n": [1, 1, 2, 3]}))
    ints = op.transform(pd.DataFrame({"n": [2, 3, 77]}))["n"]
    floats = op.transform(pd.DataFrame({"n": [2.0, 3.0, 77.0, np.nan]}))["n"]
    assert floats.tolist() == [*ints.tolist(), 0]


def test_categorify_refuses_to_hash_on_another_backend_than_it_was_fitted_on():
    op = Categorify(["c"], hash_buckets=4).fit(pd.DataFrame({"c": ["a", "b"]}))
    op.hasher_ = "cudf"  # as if fitted on the GPU: cuDF's hashes differ from pandas'
    with pytest.raises(ConfigError, match="hashes"):
        op.transform(pd.DataFrame({"c": ["a"]}))


@settings(max_examples=60, deadline=None)
@given(
    train=st.lists(st.sampled_from(list("abcdefgh")), min_size=1, max_size=40),
    new=st.lists(st.one_of(st.none(), st.text(alphabet="abcdefghxyz", max_size=3)), min_size=1, max_size=40),
    max_categories=st.integers(1, 5),
    buckets=st.integers(1, 8),
)
def test_categorify_hashed_codes_are_in_range_and_a_function_of_the_value(train, new, max_categories, buckets):
    op = Categorify(["c"], max_categories=max_categories, hash_buckets=buckets)
    op.fit(pd.DataFrame({"c": pd.Series(train, dtype=object)}))
    codes = op.transform(pd.DataFrame({"c": pd.Series(new, dtype=object)}))["c"]
    kept = len(op.categories_["c"])
    assert codes.between(0, op.cardinalities["c"] - 1).all()
    for value, code in zip(new, codes, strict=True):
        if value is None:
            assert code == 0
        elif value in op.categories_["c"]:
            assert 1 <= code <= kept
        else:
            assert code > kept
    assert codes.groupby(pd.Series(new, dtype=object)).nunique().le(1).all()


# --- FillMissing ------------------------------------------------------------------------------------------
def test_fill_missing_uses_train_median_and_flags_only_columns_with_train_nulls():
    train = pd.DataFrame({"a": [1.0, np.nan, 3.0, 10.0], "b": [5.0, 6.0, 7.0, 8.0]})
    op = FillMissing(["a", "b"]).fit(train)
    assert op.fill_ == {"a": 3.0, "b": 6.5}
    assert op.flagged_ == ["a"]
    assert op.outputs_ == {"a": NUMERIC, "b": NUMERIC, "a_missing": NUMERIC}
    out = op.transform(pd.DataFrame({"a": [np.nan, 2.0], "b": [np.nan, 1.0]}))
    assert out["a"].tolist() == [3.0, 2.0]
    assert out["b"].tolist() == [6.5, 1.0]  # filled, but no indicator: train had no nulls in b
    assert out["a_missing"].tolist() == [1.0, 0.0]
    assert "b_missing" not in out.columns
    assert {out[c].dtype for c in ("a", "b", "a_missing")} == {np.dtype("float32")}


def test_fill_missing_without_indicator_and_all_null_column():
    train = pd.DataFrame({"a": [np.nan, np.nan], "b": [1.0, np.nan]})
    op = FillMissing(["a", "b"], indicator=False).fit(train)
    assert op.flagged_ == []
    out = op.transform(train)
    assert out["a"].tolist() == [0.0, 0.0]
    assert out["b"].tolist() == [1.0, 1.0]
    assert list(out.columns) == ["a", "b"]


def test_fill_missing_nullable_integer_column():
    train = pd.DataFrame({"n": pd.array([1, None, 5], dtype="Int64")})
    out = FillMissing(["n"]).fit_transform(train)
    assert out["n"].tolist() == [1.0, 3.0, 5.0]
    assert out["n"].dtype == np.float32
    assert out["n_missing"].tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("op", [FillMissing, Standardize])
def test_infinite_values_are_named_as_such_at_fit_and_at_transform(op):
    """inf is no missing value and no number to scale: the column is named with its count and what to do."""
    finite = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]})
    with_inf = pd.DataFrame({"a": [1.0, np.inf, -np.inf], "b": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match=r"infinite values.*'a': 2.*--drop a"):
        op(["a", "b"]).fit(with_inf)
    with pytest.raises(DataError, match=r"infinite values.*'a': 2"):
        op(["a", "b"]).fit(finite).transform(with_inf)


floats_with_nans = st.lists(
    st.one_of(st.just(float("nan")), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=50
)


@settings(max_examples=80, deadline=None)
@given(train=floats_with_nans, new=floats_with_nans)
def test_fill_then_standardize_never_leaves_nulls_and_is_float32(train, new):
    train_frame, new_frame = pd.DataFrame({"x": train}), pd.DataFrame({"x": new})
    fill = FillMissing(["x"]).fit(train_frame)
    scale = Standardize(["x"]).fit(fill.transform(train_frame))
    for frame in (train_frame, new_frame):
        filled = fill.transform(frame)
        assert filled["x"].dtype == np.float32
        assert not filled["x"].isna().any()
        out = scale.transform(filled)
        assert out["x"].dtype == np.float32
        assert not out["x"].isna().any()  # inf is possible: a near-constant column has a tiny std
        if "x_missing" in out:
            assert out["x_missing"].tolist() == frame["x"].isna().astype(float).tolist()


# --- Standardize ------------------------------------------------------------------------------------------
def test_standardize_gives_mean_zero_std_one_on_train_as_float32():
    train = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 10.0], "b": [100, 200, 300, 400, 500]})
    out = Standardize(["a", "b"]).fit_transform(train)
    for column in ("a", "b"):
        assert out[column].dtype == np.float32
        assert out[column].astype("float64").mean() == pytest.approx(0.0, abs=1e-6)
        assert out[column].astype("float64").std() == pytest.approx(1.0, rel=1e-6)


def test_standardize_applies_train_statistics_to_new_rows():
    op = Standardize(["a"]).fit(pd.DataFrame({"a": [0.0, 2.0, 4.0]}))  # mean 2, std 2
    assert op.mean_ == {"a": 2.0}
    assert op.std_ == {"a": 2.0}
    assert op.transform(pd.DataFrame({"a": [6.0, -2.0]}))["a"].tolist() == [2.0, -2.0]


def test_standardize_constant_column_becomes_zero():
    op = Standardize(["c"]).fit(pd.DataFrame({"c": [7.0, 7.0, 7.0]}))
    assert op.std_ == {"c": 1.0}
    out = op.transform(pd.DataFrame({"c": [7.0, 7.0]}))
    assert out["c"].tolist() == [0.0, 0.0]
    assert out["c"].dtype == np.float32


# --- DatetimeParts ----------------------------------------------------------------------------------------
def test_datetime_parts_values():
    frame = pd.DataFrame({"t": pd.to_datetime(["2013-01-01 05:30", "2013-03-10 23:07", "2013-12-31 00:00"])})
    parts = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "minute")
    op = DatetimeParts("t", parts=parts).fit(frame)
    assert list(op.outputs_) == [f"t_{p}" for p in parts]
    out = op.transform(frame)
    expected = {
        "t_year": [2013, 2013, 2013],
        "t_month": [1, 3, 12],
        "t_day": [1, 10, 31],
        "t_dayofweek": [1, 6, 1],  # Tuesday, Sunday, Tuesday (Monday = 0)
        "t_dayofyear": [1, 69, 365],
        "t_hour": [5, 23, 0],
        "t_minute": [30, 7, 0],
    }
    for column, values in expected.items():
        assert out[column].dtype == np.float32
        assert out[column].tolist() == values
    assert "t" in out.columns  # left for others to drop


def test_datetime_parts_cyclical_encodings_put_the_ends_of_a_cycle_together():
    frame = pd.DataFrame({"t": pd.to_datetime(["2013-01-01 00:00", "2013-01-01 06:00", "2013-01-01 23:00"])})
    op = DatetimeParts("t", parts=(), cyclical=("hour",)).fit(frame)
    assert list(op.outputs_) == ["t_hour_sin", "t_hour_cos"]
    out = op.transform(frame)
    assert out["t_hour_sin"].tolist() == pytest.approx([0.0, 1.0, np.sin(2 * np.pi * 23 / 24)], abs=1e-6)
    assert out["t_hour_cos"].tolist() == pytest.approx([1.0, 0.0, np.cos(2 * np.pi * 23 / 24)], abs=1e-6)
    near = np.hypot(out["t_hour_sin"][0] - out["t_hour_sin"][2], out["t_hour_cos"][0] - out["t_hour_cos"][2])
    assert near < 0.3  # 23:00 is next to midnight
    assert out["t_hour_sin"].dtype == np.float32


def test_datetime_parts_cyclical_needs_a_part_with_a_cycle():
    with pytest.raises(ConfigError, match="no cycle"):
        DatetimeParts("t", cyclical=("year",)).fit(pd.DataFrame({"t": pd.to_datetime(["2013-01-01"])}))


def test_datetime_parts_null_time_gives_nan_parts():
    frame = pd.DataFrame({"t": pd.to_datetime(["2013-01-01 05:30", None])})
    out = DatetimeParts("t", parts=("hour",)).fit_transform(frame)
    assert out["t_hour"].iloc[0] == 5.0
    assert np.isnan(out["t_hour"].iloc[1])


def test_datetime_parts_unknown_part_is_a_config_error():
    op = DatetimeParts("t", parts=("hour", "fortnight"))
    with pytest.raises(ConfigError, match="fortnight"):
        op.fit(pd.DataFrame({"t": pd.to_datetime(["2013-01-01"])}))


def test_datetime_parts_refuses_a_column_that_is_not_datetimes_naming_it():
    """New rows whose time is text (a CSV value that is no timestamp) are a SchemaError, not an AttributeError."""
    op = DatetimeParts("t", parts=("hour",)).fit(pd.DataFrame({"t": pd.to_datetime(["2013-01-01"])}))
    with pytest.raises(SchemaError, match=r"'t'.*datetime.*'soon'"):
        op.transform(pd.DataFrame({"t": ["soon", "2013-01-02"]}))


# --- ConcatColumns ----------------------------------------------------------------------------------------
def test_concat_columns_joins_values_and_outputs_no_feature():
    op = ConcatColumns(["origin", "dest"], name="route").fit(_train())
    assert op.outputs_ == {}
    out = op.transform(_train())
    assert out["route"].tolist()[:2] == ["JFK-LAX", "LGA-ORD"]
    assert out["route"].iloc[0] == out["origin"].iloc[0] + "-" + out["dest"].iloc[0]
