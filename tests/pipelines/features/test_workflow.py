"""Workflow: fitted on the training split only, out-of-fold training features, JSON + Parquet persistence
(same and fresh process), the target never a feature; recipes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.data.split import Part
from pipelines.data.target import TARGET
from pipelines.errors import ConfigError, SchemaError
from pipelines.features import (
    Categorify,
    Clip,
    ConcatColumns,
    DatetimeParts,
    FillMissing,
    GroupbyAggregate,
    GroupCount,
    Join,
    Log1p,
    Standardize,
    TargetEncode,
    Workflow,
)
from pipelines.features.base import Op
from pipelines.features.recipes import from_column_types

REPO = Path(__file__).resolve().parents[3]


def _run_fresh(script: str, cwd: Path) -> None:
    """Run `script` in a fresh Python process with the repository importable; fail on a non-zero exit."""
    subprocess.run(
        [sys.executable, "-c", script], check=True, cwd=cwd, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)}
    )


def _flights(rows: int = 8, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "carrier": rng.choice(["UA", "AA", "DL"], rows),
            "origin": rng.choice(["JFK", "LGA", "EWR"], rows),
            "dest": rng.choice(["LAX", "ORD", "SFO"], rows),
            "sched_dep": pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 300 * 24, rows), "h"),
            "distance": rng.uniform(100, 3000, rows),
            "dep_delay": rng.normal(5, 20, rows),
        }
    )
    frame.loc[[1, 4], "distance"] = np.nan
    frame.loc[2, "carrier"] = None
    return frame


def _workflow() -> Workflow:
    numeric = ["distance", "dep_delay", "sched_dep_hour", "sched_dep_dayofweek"]
    return Workflow(
        [
            ConcatColumns(["origin", "dest"], name="route"),
            DatetimeParts("sched_dep", parts=("hour", "dayofweek")),
            Categorify(["carrier", "route"]),
            FillMissing(numeric),
            Standardize(numeric),
        ]
    )


def _unseen_rows() -> pd.DataFrame:
    frame = _flights(rows=5, seed=1)
    frame.loc[0, "carrier"] = "ZZ"
    frame.loc[1, ["origin", "dest"]] = ["BOS", "MIA"]
    frame.loc[2, "dep_delay"] = np.nan  # no nulls in train: filled, without an indicator
    return frame


@pytest.fixture
def fitted() -> Workflow:
    return _workflow().fit(Part("train", _flights()))


def _assert_feature_frame(frame: pd.DataFrame, workflow: Workflow) -> None:
    assert list(frame.columns) == workflow.numeric_ + workflow.categorical_
    for column in workflow.numeric_:
        assert frame[column].dtype == np.float32, column
    for column in workflow.categorical_:
        assert frame[column].dtype == np.int32, column
        assert frame[column].between(0, workflow.cardinalities_[column] - 1).all()
    assert not frame.isna().any().any()


@pytest.mark.parametrize(
    "given", [Part("valid", _flights()), Part("test", _flights()), _flights()], ids=["valid", "test", "bare-frame"]
)
def test_fit_refuses_anything_but_the_train_part(given):
    with pytest.raises(ConfigError, match="training split only"):
        _workflow().fit(given)


def test_transform_before_fit_is_a_config_error():
    with pytest.raises(ConfigError, match="not fitted"):
        _workflow().transform(Part("valid", _flights()))


def test_transform_gives_only_feature_columns_numeric_then_categorical(fitted):
    assert fitted.numeric_ == ["sched_dep_hour", "sched_dep_dayofweek", "distance", "dep_delay", "distance_missing"]
    assert fitted.categorical_ == ["carrier", "route"]
    assert fitted.columns == fitted.numeric_ + fitted.categorical_
    routes = len(_flights()[["origin", "dest"]].drop_duplicates())
    assert fitted.cardinalities_ == {"carrier": 4, "route": routes + 1}  # + the reserved unknown code
    for data in (Part("train", _flights()), Part("valid", _flights(seed=3)), _flights(seed=4)):
        _assert_feature_frame(fitted.transform(data), fitted)


def test_unseen_categories_at_transform_time_get_the_reserved_code(fitted):
    out = fitted.transform(Part("valid", _unseen_rows()))
    _assert_feature_frame(out, fitted)
    assert out["carrier"].iloc[0] == 0
    assert out["route"].iloc[1] == 0
    assert "dep_delay_missing" not in out.columns
    filled = (fitted.ops[3].fill_["dep_delay"] - fitted.ops[4].mean_["dep_delay"]) / fitted.ops[4].std_["dep_delay"]
    assert out["dep_delay"].iloc[2] == pytest.approx(filled, rel=1e-5)


def test_missing_required_column_is_a_schema_error(fitted):
    with pytest.raises(SchemaError, match="dep_delay"):
        fitted.transform(Part("valid", _flights().drop(columns=["dep_delay"])))


def test_save_and_load_give_identical_output(fitted, tmp_path):
    path = fitted.save(tmp_path / "model" / "workflow.json")
    assert path.exists()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    loaded = Workflow.load(path)
    assert loaded.columns == fitted.columns
    assert loaded.cardinalities_ == fitted.cardinalities_
    for frame in (_flights(), _unseen_rows()):
        pd.testing.assert_frame_equal(loaded.transform(frame), fitted.transform(frame))


def test_load_refuses_another_format_version(fitted, tmp_path):
    path = fitted.save(tmp_path / "workflow.json")
    path.write_text(path.read_text().replace('"format_version": 2', '"format_version": 99'))
    with pytest.raises(ConfigError, match="format 99"):
        Workflow.load(path)


def test_reload_in_a_fresh_process_gives_identical_output(fitted, tmp_path):
    state = fitted.save(tmp_path / "workflow.json")
    rows = tmp_path / "rows.parquet"
    result = tmp_path / "features.parquet"
    _unseen_rows().to_parquet(rows)
    script = textwrap.dedent(
        f"""
        import pandas as pd
        from pipelines.features import Workflow
        workflow = Workflow.load({str(state)!r})
        workflow.transform(pd.read_parquet({str(rows)!r})).to_parquet({str(result)!r})
        """
    )
    _run_fresh(script, tmp_path)
    expected = fitted.transform(pd.read_parquet(rows))
    pd.testing.assert_frame_equal(pd.read_parquet(result), expected)


# --- ops that learn tables and use the target ---------------------------------------------------------------
AIRPORTS = pd.DataFrame({"dest": ["LAX", "ORD", "SFO"], "altitude": [38.0, 668.0, 13.0], "tz": [-8, -6, -8]})


def _labelled(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    frame = _flights(rows, seed)
    frame[TARGET] = (np.random.default_rng(seed + 100).random(rows) < 0.3).astype("float32")
    return frame


def _table_workflow() -> Workflow:
    numeric = ["distance", "altitude", "carrier_distance_mean", "carrier_distance_std", "route_te", "carrier_te"]
    return Workflow(
        [
            ConcatColumns(["origin", "dest"], name="route"),
            Join(AIRPORTS, on=["dest"]),
            GroupbyAggregate(["carrier"], ["distance"], aggregations=("mean", "std")),
            GroupCount(["origin"], "sched_dep", "D"),
            TargetEncode(["route", "carrier"], smoothing=5.0, folds=3),
            Log1p(["count_origin_D"]),
            Clip(["distance"], upper_quantile=0.95),
            Categorify(["carrier", "route"], max_categories=3, hash_buckets=4),
            FillMissing(numeric),
            Standardize(numeric),
        ]
    )


@pytest.fixture
def table_fitted() -> Workflow:
    return _table_workflow().fit(Part("train", _labelled()))


def test_training_split_features_are_out_of_fold_and_other_splits_use_full_train_statistics(table_fitted):
    train = _labelled()
    as_train = table_fitted.transform(Part("train", train))
    as_new = table_fitted.transform(train)  # the same rows, as new data
    assert not as_train["route_te"].equals(as_new["route_te"])
    pd.testing.assert_frame_equal(
        as_train.drop(columns=["route_te", "carrier_te"]), as_new.drop(columns=["route_te", "carrier_te"])
    )
    pd.testing.assert_frame_equal(table_fitted.transform(Part("valid", train)), as_new)
    _assert_feature_frame(as_train, table_fitted)


def test_fit_features_are_the_training_split_transform(table_fitted):
    ops = _table_workflow().ops
    frame = _labelled()
    for op in ops:
        frame = op.fit_transform(frame)
    expected = table_fitted.transform(Part("train", _labelled()))
    pd.testing.assert_frame_equal(frame[table_fitted.columns], expected)


def test_the_target_is_never_a_feature(table_fitted):
    assert TARGET not in table_fitted.columns
    assert TARGET not in table_fitted.transform(Part("train", _labelled())).columns
    with pytest.raises(ConfigError, match="would be features"):
        Workflow([FillMissing(["distance", TARGET])]).fit(Part("train", _labelled()))
    raw_label = _labelled().assign(late=1.0)
    with pytest.raises(ConfigError, match="'late'"):
        Workflow([TargetEncode(["carrier"], target="late"), FillMissing(["late"])]).fit(Part("train", raw_label))


def test_new_rows_with_unseen_categories_and_keys_work(table_fitted):
    rows = _unseen_rows()  # an unseen carrier and route, no target column
    rows.loc[2, "dest"] = "XYZ"  # no airport row to join
    out = table_fitted.transform(rows)
    _assert_feature_frame(out, table_fitted)
    prior = table_fitted.ops[4].prior_
    scale = table_fitted.ops[9]
    assert out["route_te"].iloc[1] == pytest.approx(
        (prior - scale.mean_["route_te"]) / scale.std_["route_te"], rel=1e-5
    )
    assert out["carrier"].iloc[0] > 3  # beyond the 3 kept carriers: a hash bucket


def test_missing_required_column_names_it(table_fitted):
    with pytest.raises(SchemaError, match="sched_dep"):
        table_fitted.transform(_labelled().drop(columns=["sched_dep"]))


def test_save_writes_json_and_parquet_only_atomically(table_fitted, tmp_path):
    path = table_fitted.save(tmp_path / "model" / "workflow.json")
    files = Workflow.files(path)
    assert files[0] == path
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(p.name for p in files)
    assert {p.suffix for p in files} == {".json", ".parquet"}
    assert all(p.name.startswith("workflow.") for p in files)
    assert len(files) == 1 + 1 + 1 + 2  # the JSON, the airports, the carrier statistics, two encodings
    loaded = Workflow.load(path)
    for data in (Part("train", _labelled()), _unseen_rows(), _labelled(seed=5)):
        pd.testing.assert_frame_equal(loaded.transform(data), table_fitted.transform(data))


def test_state_with_tables_needs_a_path(table_fitted):
    with pytest.raises(ConfigError, match=r"Workflow\.save"):
        table_fitted.to_dict()


def test_a_format_1_file_still_loads(fitted, tmp_path):
    path = fitted.save(tmp_path / "workflow.json")
    path.write_text(path.read_text().replace('"format_version": 2', '"format_version": 1'))
    pd.testing.assert_frame_equal(Workflow.load(path).transform(_flights()), fitted.transform(_flights()))


def test_table_backed_workflow_reloads_in_a_fresh_process_with_identical_output(table_fitted, tmp_path):
    state = table_fitted.save(tmp_path / "workflow.json")
    rows, result = tmp_path / "rows.parquet", tmp_path / "features.parquet"
    train_rows, train_result = tmp_path / "train.parquet", tmp_path / "train-features.parquet"
    _unseen_rows().to_parquet(rows)
    _labelled().to_parquet(train_rows)
    script = textwrap.dedent(
        f"""
        import pandas as pd
        from pipelines.features import Part, Workflow
        workflow = Workflow.load({str(state)!r})
        workflow.transform(pd.read_parquet({str(rows)!r})).to_parquet({str(result)!r})
        train = Part("train", pd.read_parquet({str(train_rows)!r}))
        workflow.transform(train).to_parquet({str(train_result)!r})
        """
    )
    _run_fresh(script, tmp_path)
    pd.testing.assert_frame_equal(pd.read_parquet(result), table_fitted.transform(pd.read_parquet(rows)))
    expected = table_fitted.transform(Part("train", pd.read_parquet(train_rows)))
    pd.testing.assert_frame_equal(pd.read_parquet(train_result), expected)


def test_repr_lists_the_ops_briefly(table_fitted):
    text = repr(table_fitted)
    assert text.startswith("Workflow([") and "Join(table=<table 3 rows" in text
    assert "fitted:" in text


# --- recipes.from_column_types ----------------------------------------------------------------------------
def _typed_table(rows: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "row_id": np.arange(rows, dtype="int64"),
            "tail": [f"N{i:04d}" for i in range(rows)],
            "measure": rng.normal(size=rows),  # all distinct floats: still a feature
            "count": rng.integers(0, 5, rows),
            "kind": rng.choice(["a", "b"], rows),
            "flag": rng.random(rows) > 0.5,
            "when": pd.Timestamp("2013-01-01") + pd.to_timedelta(np.arange(rows), "D"),
            "target": rng.integers(0, 2, rows),
        }
    )


def test_from_column_types_gives_each_kind_an_op_and_leaves_out_ids():
    workflow, notes = from_column_types(Part("train", _typed_table()), exclude=["target"])
    by_type = {type(op).__name__: op for op in workflow.ops}
    assert set(by_type) == {"DatetimeParts", "Categorify", "FillMissing", "Standardize"}
    assert by_type["DatetimeParts"].column == "when"
    assert by_type["Categorify"].columns == ["kind"]
    dated = ["when_year", "when_month", "when_day", "when_dayofweek", "when_hour"]
    assert by_type["FillMissing"].columns == ["measure", "count", "flag", *dated]
    assert by_type["Standardize"].columns == by_type["FillMissing"].columns
    assert len(notes) == 2
    assert "'row_id'" in notes[0] and "'tail'" in notes[1]
    assert all("unique on every training row" in note for note in notes)


def test_from_column_types_workflow_fits_and_excludes_target_and_ids():
    frame = _typed_table()
    workflow, _ = from_column_types(Part("train", frame), exclude=["target"])
    out = workflow.fit(Part("train", frame)).transform(Part("valid", frame))
    assert not {"target", "row_id", "tail", "when"} & set(out.columns)
    assert {"measure", "count", "flag", "kind", "when_month"} <= set(out.columns)
    assert not out.isna().any().any()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_from_column_types_never_treats_floats_as_ids(dtype):
    frame = pd.DataFrame({"x": np.linspace(0, 1, 40).astype(dtype)})
    workflow, notes = from_column_types(Part("train", frame), exclude=[])
    assert notes == []
    assert workflow.ops[0].columns == ["x"]


@pytest.mark.parametrize("dtype", ["Float64", "double[pyarrow]"])
def test_from_column_types_never_treats_extension_floats_as_ids(dtype):
    frame = pd.DataFrame({"x": pd.array(np.linspace(0, 1, 40), dtype=dtype)})
    _, notes = from_column_types(Part("train", frame), exclude=[])
    assert notes == []


def test_from_column_types_keeps_integer_columns_with_a_repeat_or_few_rows():
    repeated = pd.DataFrame({"n": np.r_[np.arange(39), 0]})  # 40 rows, one value repeated
    assert from_column_types(Part("train", repeated), exclude=[])[1] == []
    few = pd.DataFrame({"n": np.arange(20)})  # unique, but 20 rows are too few to call it an ID
    assert from_column_types(Part("train", few), exclude=[])[1] == []


def test_from_column_types_target_encodes_high_cardinality_strings_out_of_fold():
    rows = 400
    rng = np.random.default_rng(1)
    shop = rng.choice([f"s{i}" for i in range(80)], rows)
    frame = pd.DataFrame({"shop": shop, "kind": rng.choice(["a", "b"], rows), "amount": rng.normal(size=rows)})
    frame[TARGET] = (rng.random(rows) < 0.4).astype("float32")
    workflow, _ = from_column_types(Part("train", frame), exclude=[TARGET])
    by_type = {type(op).__name__: op for op in workflow.ops}
    assert by_type["TargetEncode"].columns == ["shop"]  # "kind" has 2 values: codes are enough
    workflow.fit(Part("train", frame))
    assert "shop_te" in workflow.numeric_ and TARGET not in workflow.columns
    as_train = workflow.transform(Part("train", frame))
    assert not as_train["shop_te"].equals(workflow.transform(frame)["shop_te"])  # out-of-fold on train


@pytest.mark.parametrize(
    ("ops", "column"),
    [
        (lambda: [FillMissing(["distance"])], "distance_missing"),  # the missing indicator
        (lambda: [DatetimeParts("sched_dep", parts=("hour",))], "sched_dep_hour"),
        (lambda: [TargetEncode(["carrier"], target="dep_delay", folds=2)], "carrier_te"),
        (lambda: [ConcatColumns(["origin", "dest"], name="route")], "route"),
        (lambda: [GroupCount(["origin"])], "count_origin"),
    ],
    ids=["indicator", "datetime-part", "target-encoding", "concat", "group-count"],
)
def test_an_op_never_overwrites_a_column_of_the_data(ops, column):
    """A column the data already has, under the name an op would write, is refused with both names, at fit and at
    transform (new rows), never silently replaced by the op's output."""
    frame = _flights(rows=12).assign(**{column: 7.0})
    with pytest.raises(SchemaError, match=rf"'{column}'.*already.*[Rr]ename"):
        Workflow(ops()).fit(Part("train", frame))
    fitted = Workflow(ops()).fit(Part("train", frame.drop(columns=[column])))
    with pytest.raises(SchemaError, match=rf"'{column}'"):
        fitted.transform(frame)


def test_two_ops_writing_one_column_are_refused():
    ops = [DatetimeParts("sched_dep", parts=("hour",)), DatetimeParts("sched_dep", parts=("hour", "day"))]
    with pytest.raises(SchemaError, match="'sched_dep_hour'"):
        Workflow(ops).fit(Part("train", _flights(rows=12)))


class _PassThrough(Op):
    """Declares its columns numeric features as they are: what the output check is there for."""

    def __init__(self, columns: list[str]):
        self.columns = list(columns)

    def finish(self, stats, order):
        self.outputs_ = dict.fromkeys(self.columns, "numeric")
        return self

    def transform(self, frame):
        return frame[self.columns]


@pytest.mark.parametrize("partitioned", [False, True], ids=["frame", "dask"])
def test_the_output_check_names_columns_left_with_nulls_or_infinities_with_their_counts(partitioned):
    import dask.dataframe as dd

    from pipelines.errors import DataError

    def part(frame: pd.DataFrame) -> Part:
        return Part("train", dd.from_pandas(frame, npartitions=2) if partitioned else frame)

    frame = pd.DataFrame(
        {
            "a": [1.0, np.inf, 3.0, -np.inf, 5.0, 6.0],
            "b": [1.0, 2.0, 3.0, 4.0, np.nan, np.nan],
            "n": np.arange(6, dtype="int64"),
        }
    )
    finite = frame.assign(a=frame["a"].clip(-9, 9))
    with pytest.raises(DataError, match=r"train still have nulls in \{'b': 2\}"):
        Workflow([_PassThrough(["a", "b", "n"])]).fit(part(finite))
    with pytest.raises(DataError, match=r"train have infinite values in \{'a': 2\}: the input holds values too large"):
        Workflow([_PassThrough(["a", "b", "n"])]).fit(part(frame.fillna({"b": 0.0})))
    fitted = Workflow([_PassThrough(["a", "b", "n"])]).fit(part(finite.fillna({"b": 0.0})))
    assert fitted.numeric_ == ["a", "b", "n"]
