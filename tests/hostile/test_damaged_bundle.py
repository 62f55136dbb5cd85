"""A bundle whose files were rewritten together with the manifest's hashes (so the sha256 check passes), or whose
manifest is not JSON: `devicepipe predict` is exit 2 naming the file, never a traceback, nothing written."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tests.conftest import write_table
from tests.hostile.conftest import train_small


@pytest.fixture(scope="module")
def trained(prefect_harness, tmp_path_factory) -> Path:
    data = write_table(tmp_path_factory.mktemp("trained") / "train.parquet", 400)
    return train_small(data, "y", "logistic_regression", "xgboost")


def _junk_safetensors(path: Path) -> None:
    save_file({"weight": torch.zeros(3, 2)}, str(path))  # a model of the wrong shape


DAMAGE = {
    "model/logistic_regression.skops": ("logistic_regression", lambda p: p.write_bytes(b"not a zip file")),
    "model/xgboost.json": ("xgboost", lambda p: p.write_text('{"learner": 1')),
    "model/workflow.json": (None, lambda p: p.write_text("[]")),
    "model/profile.json": (None, lambda p: p.write_text("{junk")),
    "model/mlp.safetensors": ("mlp", _junk_safetensors),
    "model/mlp.json": ("mlp", lambda p: p.write_text('{"widths": "wide"}')),
    "metrics.json": (None, lambda p: p.write_text("{}")),
}


def _damaged_copy(trained: Path, where: Path, name: str) -> Path:
    run = where / "run"
    shutil.copytree(trained, run, symlinks=True)
    _, damage = DAMAGE[name]
    damage(run / name)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((run / name).read_bytes()).hexdigest()  # the hashes rewritten too
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


def _predict(run: Path, where: Path, model: str | None, capsys) -> tuple[int, str]:
    from flows.cli import main

    write_table(where / "new.parquet", 30)
    args = ["predict", "--from", str(run), "--data", str(where / "new.parquet"), "--out", str(where / "p.parquet")]
    with pytest.raises(SystemExit) as exit_code:
        main([*args, *(["--model-name", model] if model else [])])
    return exit_code.value.code, capsys.readouterr().err


@pytest.mark.parametrize("name", list(DAMAGE))
def test_a_damaged_file_the_manifest_vouches_for_is_named(trained, tmp_path, capsys, name):
    run = _damaged_copy(trained, tmp_path, name)
    code, err = _predict(run, tmp_path, DAMAGE[name][0], capsys)
    assert code == 2, err
    assert "could not be read" in err and Path(name).name in err and "damaged" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p.parquet").exists()


def test_a_manifest_that_is_not_json(trained, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(trained, run, symlinks=True)
    (run / "manifest.json").write_text("{not json")
    code, err = _predict(run, tmp_path, None, capsys)
    assert code == 2 and "manifest.json could not be read" in err and "Traceback" not in err
