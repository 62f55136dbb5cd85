"""Execute every notebook here in place, so that each is committed with its outputs (tables, plots) as a reader
first sees it:

    .venv/bin/python notebooks/refresh.py            # all of them
    .venv/bin/python notebooks/refresh.py quickstart.ipynb

Each runs top to bottom in a fresh kernel from this folder, on the data staged in ../data (devicepipe data stage)
and the sample its first cell reads (DEVICEPIPE_SAMPLE, default 0.1); its runs go to notebooks/runs/ (not
committed). The tests execute the same notebooks again on smaller data (tests/test_notebooks.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from pipelines.files import write_text_atomic

HERE = Path(__file__).resolve().parent


def refresh(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    write_text_atomic(path, nbformat.writes(notebook) + "\n")  # a notebook that fails a cell is left as it was
    print(f"refreshed {path.name}")


def main(names: list[str]) -> int:
    """Refresh `names` (default: every notebook here); exit 2 naming what is not a notebook here, 130 on Ctrl-C
    between cells. Ctrl-C in a cell ends its kernel too, and nbclient's DeadKernelError ends this. Either way the
    notebook being executed is left as it was."""
    found = sorted(p.name for p in HERE.glob("*.ipynb"))
    unknown = [name for name in names if Path(name).name not in found]
    if unknown:
        print(
            f"error: no notebook {', '.join(unknown)} in {HERE}; the notebooks are: {', '.join(found)}", file=sys.stderr
        )
        return 2
    try:
        for name in names or found:
            refresh(HERE / Path(name).name)
    except KeyboardInterrupt:
        print("interrupted: the notebook being executed is left as it was", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
