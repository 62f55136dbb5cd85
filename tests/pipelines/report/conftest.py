"""A real run on a CSV table (classification and regression), written once for the report's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.runs.record import write_run
from tests.pipelines.report.run_on_table import draw, fit


@pytest.fixture(scope="package", params=["classification", "regression"])
def run_dir(request, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp(request.param)
    draw(request.param).to_csv(root / "table.csv", index=False)
    return write_run(*fit(root / "table.csv", request.param, root))
