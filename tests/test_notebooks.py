"""Every notebook in notebooks/ is executed top to bottom on small data (a sample of the default data, a small
made-up table), importing only the library; each shows what it is about. Notebooks are committed with their
outputs (`notebooks/refresh.py` executes them in place): every cell run in order, no error, no warning on stderr,
the quickstart's figures stored as images."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# What each notebook's outputs must show.
SHOWN = {
    "quickstart.ipynb": ("trivial baseline", "report.html", "xgboost", "mlp"),
    "02_bring_your_own_table.ipynb": (
        "scored 500 rows with",
        "probabilities equal in memory and after reloading",
        "report.html",
    ),
    "03_gpu_handoff.ipynb": ("zero_copy: True", "tensor data_ptr", "(a copy: the check would refuse it)", "handoff"),
}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, flights_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("DEVICEPIPE_DATA_DIR", str(flights_dir))
    monkeypatch.setenv("DEVICEPIPE_SAMPLE", "0.03")
    monkeypatch.setenv("DEVICEPIPE_NOTEBOOK_DIR", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]  # no red warnings
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    for shown in SHOWN[path.name]:
        assert shown in text, f"{path.name} does not show {shown!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_committed_with_their_outputs_and_import_only_the_library(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "refresh: run top to bottom"
    outputs = [output for cell in code for output in cell.outputs]
    assert outputs and not [o for o in outputs if o.output_type == "error"]
    assert not [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= (3 if path.name == "quickstart.ipynb" else 0)  # ROC, importance, learning curve
    source = "\n".join(cell.source for cell in code)
    for other in ("from tests", "import tests", "from flows", "import flows", "import prefect", "from prefect"):
        assert other not in source, f"{path.name}: {other}"


def test_the_notebooks_are_there():
    names = {path.name for path in NOTEBOOKS}
    assert set(SHOWN) == names, "every notebook says what it must show (SHOWN), and every one listed exists"
