"""The "Composing a feature workflow" example of docs/own-data.md (the guide to your own data, linked from the
README) runs as written: fit and save in one fresh process, load and transform new rows in another."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd

from tests.conftest import ROOT

GUIDE = ROOT / "docs" / "own-data.md"
SECTION = "## Composing a feature workflow"


def _blocks() -> list[str]:
    text = GUIDE.read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def _run(code: str, cwd) -> None:
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=cwd, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )


def test_the_example_is_short():
    blocks = _blocks()
    assert len(blocks) == 2
    lines = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert len(lines) < 15


def test_the_example_fits_saves_and_a_fresh_process_loads_and_transforms_new_rows(tmp_path):
    fit, score = _blocks()
    _run(fit, tmp_path)
    assert (tmp_path / "model" / "workflow.json").exists()
    assert any(p.suffix == ".parquet" for p in (tmp_path / "model").iterdir())
    _run(score + "\nfeatures.to_parquet('features.parquet')\n", tmp_path)
    features = pd.read_parquet(tmp_path / "features.parquet")
    assert len(features) == 2
    assert not features.isna().any().any()
    assert {str(features[c].dtype) for c in features.columns} == {"float32", "int32"}
    assert features["store"].tolist() == [2, 0]  # "b", then the unseen "zz"
    assert "returned" not in features.columns and "store_te" in features.columns
    assert np.isfinite(features.select_dtypes("float32").to_numpy()).all()
