"""The runs of an output folder, newest first, and runs side by side, read from what pipelines/runs/record.py writes;
incomplete and unreadable folders are listed as such, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.errors import ConfigError
from pipelines.runs import listing as runs
from pipelines.runs.compare import compare_runs

CONFIG = {"dataset": "table", "data": "data/sales.csv", "target": "sold", "epochs": 3, "seed": 0, "backend": "auto"}


def _write_run(
    root: Path, name: str, auc: float = 0.71, best: str = "xgboost", baseline: float | None = None, **config
) -> Path:
    """A run folder as pipelines.runs.record writes it (the keys the listing reads, and a few more)."""
    folder = root / name
    folder.mkdir(parents=True)
    scores = {
        model: {
            "valid": {"auc": value, "logloss": 0.5, "accuracy": 0.7},
            "test": {"auc": value, "logloss": 0.52, "accuracy": 0.69},
            "fit_seconds": 1.5,
        }
        for model, value in (("logistic_regression", auc - 0.01), ("xgboost", auc), ("mlp", auc - 0.02))
    }
    metrics = {"task": "classification", "target": "sold", "backend": "cpu", "rows": {"train": 70, "valid": 15}}
    if baseline is not None:  # the constant prediction (runs made before it was recorded have none)
        metrics["trivial_baseline"] = {"name": "always 0", "test": {"auc": 0.5, "accuracy": baseline}}
    (folder / "metrics.json").write_text(json.dumps({**metrics, "models": scores, "best_model": best}))
    manifest = {
        "config": {**CONFIG, **config},
        "backend": {"name": "cpu", "device": "CPU (2 torch threads)"},
        "seconds": {"load": 0.5, "features": 1.25, "train": 4.0},
        "git_commit": "abc123",
        "run": name,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "runs"
    _write_run(root, "20240101T090000Z-aaaaaa", auc=0.70)
    _write_run(root, "20240103T090000Z-cccccc", auc=0.73, baseline=0.76, epochs=5)
    _write_run(root, "20240102T090000Z-bbbbbb", auc=0.72, baseline=0.75)
    (root / "latest").symlink_to("20240103T090000Z-cccccc")
    (root / ".latest.lock").write_text("")
    incomplete = root / ".incomplete-20240104T090000Z-dddddd"
    (incomplete / "checkpoints").mkdir(parents=True)
    (incomplete / "config.json").write_text(json.dumps(CONFIG))
    broken = _write_run(root, "20240105T090000Z-eeeeee")
    (broken / "metrics.json").write_text('{"task": ')
    (root / "notes").mkdir()
    return root


def test_runs_are_listed_newest_first_with_incomplete_and_unreadable_ones(root):
    listed = runs.list_runs(root)
    assert [r.name for r in listed] == [
        "20240105T090000Z-eeeeee",
        ".incomplete-20240104T090000Z-dddddd",
        "20240103T090000Z-cccccc",
        "20240102T090000Z-bbbbbb",
        "20240101T090000Z-aaaaaa",
        "notes",
    ]
    status = {r.name: r.status for r in listed}
    assert status["20240105T090000Z-eeeeee"] == "unreadable" and status["notes"] == "unreadable"
    assert status[".incomplete-20240104T090000Z-dddddd"] == "incomplete"
    newest = listed[2]
    assert (newest.status, newest.latest, newest.dataset, newest.backend) == ("complete", True, "table", "cpu")
    assert (newest.best_model, newest.metric, newest.value) == ("xgboost", "auc", 0.73)


def test_the_table_says_what_each_run_is_and_why_a_run_cannot_be_read(root):
    table = runs.runs_table(runs.list_runs(root), root)
    lines = table.splitlines()
    assert lines[0].split() == ["run", "data", "backend", "best", "model", "test"]
    assert max(len(line) for line in lines[: lines.index("")]) <= 80  # the table; the reasons below name paths
    newest = next(line for line in lines if line.startswith("20240103T090000Z-cccccc"))
    assert newest.split() == ["20240103T090000Z-cccccc", "*", "sales.csv", "cpu", "xgboost", "auc", "0.7300"]
    assert "* the latest run (latest in the folder links to it)" in lines
    stopped = next(line for line in lines if line.startswith("20240104T090000Z-dddddd"))  # .incomplete- in notes
    assert "(interrupted)" in stopped
    assert "metrics.json" in table and "not a run" in table  # the reasons, under the table
    assert f"devicepipe run --resume {root / '.incomplete-20240104T090000Z-dddddd'}" in table


def test_an_empty_folder_has_no_runs_and_a_missing_one_is_a_config_error(tmp_path):
    assert "no runs" in runs.runs_table(runs.list_runs(tmp_path), tmp_path)
    with pytest.raises(ConfigError, match=r"nowhere.*does not exist"):
        runs.list_runs(tmp_path / "nowhere")
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="not a folder"):
        runs.list_runs(tmp_path / "file")


def test_compare_puts_metrics_seconds_and_the_settings_that_differ_side_by_side(root):
    table = compare_runs([root / "20240102T090000Z-bbbbbb", root / "latest"], root)
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["A", "20240102T090000Z-bbbbbb"]
    assert lines[1].split()[:2] == ["B", "20240103T090000Z-cccccc"]
    assert max(len(line) for line in lines) <= 80, table
    assert any(line.split() == ["A", "B", "B", "-", "A"] for line in lines), table
    block = lines[lines.index("xgboost:") :]
    assert any(line.split() == ["test", "auc", "0.7200", "0.7300*", "+0.0100"] for line in block), table
    assert any(line.split() == ["train", "4.00", "4.00", "+0.00"] for line in lines), table  # equal: no best
    assert "  epochs: A 3  B 5" in lines, table
    baseline = lines[lines.index("trivial baseline:") :]  # what each run's models had to beat: not marked
    assert any(line.split() == ["test", "accuracy", "0.7500", "0.7600", "+0.0100"] for line in baseline), table
    assert not any(line.split()[:1] == ["seed:"] for line in lines)  # the same in both: not a difference


def test_compare_finds_runs_by_name_in_the_folder(root):
    table = compare_runs([Path("20240101T090000Z-aaaaaa"), Path("20240102T090000Z-bbbbbb")], root)
    names = [line.split()[1] for line in table.splitlines()[:2]]
    assert names == ["20240101T090000Z-aaaaaa", "20240102T090000Z-bbbbbb"]
    baseline = table.splitlines()[table.splitlines().index("trivial baseline:") :]  # A was made before it
    assert any(line.split() == ["test", "accuracy", "-", "0.7500", "-"] for line in baseline), table


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["20240101T090000Z-aaaaaa"], "at least two runs"),
        (["20240101T090000Z-aaaaaa", "nowhere"], "'nowhere' is no run"),
        (["20240101T090000Z-aaaaaa", ".incomplete-20240104T090000Z-dddddd"], "incomplete.*--resume"),
        (["20240101T090000Z-aaaaaa", "20240105T090000Z-eeeeee"], "cannot be read.*metrics.json"),
    ],
)
def test_compare_refuses_what_it_cannot_compare(root, names, message):
    with pytest.raises(ConfigError, match=message):
        compare_runs([Path(n) for n in names], root)
