"""`devicepipe predict` from a fresh process with a run's bundle; a tampered bundle is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tests.flows.cli.test_cli import assert_user_error, devicepipe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cancer(tmp_path_factory) -> tuple[Path, Path]:
    """scikit-learn's breast cancer table with string labels and an ID, split into train and new rows."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
    frame["diagnosis"] = np.where(frame.pop("target") == 1, "benign", "malignant")
    frame.insert(0, "patient", [f"p{i:04d}" for i in range(len(frame))])
    folder = tmp_path_factory.mktemp("cancer")
    frame.iloc[:450].to_csv(folder / "train.csv", index=False)
    frame.iloc[450:].drop(columns=["diagnosis"]).to_csv(folder / "new.csv", index=False)
    frame.iloc[450:][["patient", "diagnosis"]].to_csv(folder / "truth.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def run_dir(prefect_harness, cancer) -> Path:
    from flows.train import train
    from pipelines.config import RunConfig

    config = RunConfig(
        data=str(cancer / "train.csv"),
        target="diagnosis",
        epochs=3,
        output=str(cancer / "runs"),
        data_dir=str(cancer / "data"),
        backend="cpu",
        models=["logistic_regression", "random_forest", "xgboost"],  # the forest too, asked for by name
    )
    return Path(train(config, progress=False))


@pytest.mark.parametrize("model", [None, "mlp", "xgboost", "random_forest", "logistic_regression"])
def test_predict_in_a_fresh_process(run_dir, cancer, tmp_path, model):
    out = tmp_path / "preds.parquet"
    args = [
        "predict",
        "--from",
        str(run_dir),
        "--data",
        str(cancer / "new.csv"),
        "--out",
        str(out),
        "--keep",
        "patient",
        "--backend",
        "cpu",
    ]
    result = devicepipe(*args, *(["--model-name", model] if model else []), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    predictions = pd.read_parquet(out)
    truth = pd.read_csv(cancer / "truth.csv")
    assert list(predictions.columns) == ["patient", "probability", "prediction"]
    assert predictions["patient"].tolist() == truth["patient"].tolist()
    assert predictions["probability"].between(0, 1).all()
    assert set(predictions["prediction"]) <= {"benign", "malignant"}
    assert roc_auc_score(truth["diagnosis"] == "malignant", predictions["probability"]) > 0.9


def test_a_changed_model_file_is_refused(run_dir, cancer, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    weights = copy / "model" / "xgboost.json"
    weights.write_bytes(weights.read_bytes().replace(b"1", b"2", 1))
    result = devicepipe(
        "predict",
        "--from",
        str(copy),
        "--data",
        str(cancer / "new.csv"),
        "--out",
        "p.parquet",
        "--model-name",
        "xgboost",
        cwd=tmp_path,
    )
    assert_user_error(result, "xgboost.json does not match the sha256")
    assert not (tmp_path / "p.parquet").exists()


def test_an_added_model_file_is_refused(run_dir, cancer, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "model" / "extra.skops").write_bytes(b"not from this run")
    result = devicepipe(
        "predict", "--from", str(copy), "--data", str(cancer / "new.csv"), "--out", "p.parquet", cwd=tmp_path
    )
    assert_user_error(result, "extra.skops is not in the run's manifest")


def test_a_folder_that_is_not_a_run(cancer, tmp_path):
    result = devicepipe(
        "predict", "--from", str(tmp_path), "--data", str(cancer / "new.csv"), "--out", "p.parquet", cwd=tmp_path
    )
    assert_user_error(result, "not a completed run directory")


@pytest.mark.parametrize("column", ["probability", "prediction"])
def test_keeping_a_column_named_like_an_output_column_is_refused(run_dir, cancer, tmp_path, column):
    """--keep of an input column called `prediction` would be overwritten by the prediction: refused, named."""
    new = pd.read_csv(cancer / "new.csv").assign(**{column: "from the input"})
    new.to_csv(tmp_path / "new.csv", index=False)
    result = devicepipe(
        "predict", "--from", str(run_dir), "--data", "new.csv", "--out", "p.parquet", "--keep", column, cwd=tmp_path
    )
    assert_user_error(result, f"--keep {column!r}", "rename")
    assert not (tmp_path / "p.parquet").exists()


def test_a_swapped_model_file_with_a_rewritten_manifest_is_refused(run_dir, cancer, tmp_path):
    """The random forest's file put in the logistic regression's place, and the manifest's sha256 updated to
    match: the hash check passes, the type check does not."""
    import hashlib
    import json

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    swapped = (copy / "model" / "random_forest.skops").read_bytes()
    (copy / "model" / "logistic_regression.skops").write_bytes(swapped)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["model/logistic_regression.skops"] = hashlib.sha256(swapped).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = devicepipe(
        "predict",
        "--from",
        str(copy),
        "--data",
        str(cancer / "new.csv"),
        "--out",
        "p.parquet",
        "--model-name",
        "logistic_regression",
        cwd=tmp_path,
    )
    assert_user_error(result, "logistic_regression.skops", "sklearn.tree._tree.Tree", "refusing")
    assert not (tmp_path / "p.parquet").exists()


def test_the_old_name_of_from_still_works_and_says_so(run_dir, cancer, tmp_path):
    """--model was predict's name for the run until it became --from (--model names a family in run): it still
    works, with a note on stderr; neither, or both, is exit 2 naming --from."""
    new = ("--data", str(cancer / "new.csv"), "--backend", "cpu")
    old = devicepipe("predict", "--model", str(run_dir), *new, "--out", "old.csv", cwd=tmp_path)
    assert old.returncode == 0, old.stderr[-3000:]
    assert "note: predict --model is now --from (--model names a model family in devicepipe run)" in old.stderr
    ours = devicepipe("predict", "--from", str(run_dir), *new, "--out", "new.csv", cwd=tmp_path)
    assert ours.returncode == 0 and "note:" not in ours.stderr, ours.stderr[-3000:]
    assert (tmp_path / "old.csv").read_text() == (tmp_path / "new.csv").read_text()
    neither = devicepipe("predict", *new, "--out", "p.csv", cwd=tmp_path)
    assert_user_error(neither, "predict needs --from RUN")
    both = devicepipe("predict", "--from", str(run_dir), "--model", str(run_dir), *new, "--out", "p.csv", cwd=tmp_path)
    assert_user_error(both, "not both")
    assert not (tmp_path / "p.csv").exists()


def test_threshold_picks_where_a_probability_becomes_the_positive_class(run_dir, cancer, tmp_path):
    """0.5 by default (the run's chosen cut named beside it), a given probability, or the cut the run chose for the
    model on validation (metrics.json); what is no probability is exit 2 with nothing written."""
    import json

    chosen = json.loads((run_dir / "metrics.json").read_text())["thresholds"]["xgboost"]["value"]
    new = ("--from", str(run_dir), "--data", str(cancer / "new.csv"), "--backend", "cpu", "--model-name", "xgboost")
    for given, cut, said in [
        (None, 0.5, "(the default)"),
        ("0.9", 0.9, "(--threshold)"),
        ("chosen", chosen, "(chosen for xgboost on validation)"),
    ]:
        out = tmp_path / f"{given}.parquet"
        result = devicepipe(
            "predict", *new, "--out", str(out), *(["--threshold", given] if given else []), cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"prediction: malignant where probability >= {cut:.4g} {said}" in result.stdout
        assert ("note: the run chose" in result.stdout) == (given != "chosen")
        predictions = pd.read_parquet(out)
        expected = np.where(predictions["probability"] >= cut, "malignant", "benign")
        assert predictions["prediction"].tolist() == expected.tolist()
    assert 0 < (pd.read_parquet(tmp_path / "0.9.parquet")["prediction"] == "malignant").sum() < len(predictions)
    for bad in ("1.5", "often"):
        result = devicepipe("predict", *new, "--out", "bad.parquet", "--threshold", bad, cwd=tmp_path)
        assert_user_error(result, f"found {bad!r}", "--threshold chosen")
    assert not (tmp_path / "bad.parquet").exists()
