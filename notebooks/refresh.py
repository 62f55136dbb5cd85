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
    folder = {"metadata": {"path": str(path.parent)}}
    # The kernel is killed at the end, not asked to stop: asked while a cell runs (Ctrl-C), it prints a traceback
    # of its own on the way out; its outputs are all in by then either way.
    client = NotebookClient(
        notebook, timeout=1200, kernel_name="python3", resources=folder, shutdown_kernel="immediate"
    )
    try:
        client.execute()
    except Exception:
        # While a cell runs, nbclient takes Ctrl-C (and SIGTERM) itself: it shuts the kernel down, and the cell
        # then fails with DeadKernelError. The clean-up it started on the signal says that this was a stop.
        if getattr(client, "_async_cleanup_kernel_future", None) is not None:
            raise KeyboardInterrupt from None
        raise
    write_text_atomic(path, nbformat.writes(notebook) + "\n")  # a notebook that fails a cell is left as it was
    print(f"refreshed {path.name}")


def main(names: list[str], folder: Path = HERE) -> int:
    """Refresh `names` (default: every notebook in `folder`, this one's); exit 2 naming what is not a notebook
    there, 130 on Ctrl-C (the notebook being executed left as it was, its kernel stopped)."""
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    unknown = [name for name in names if Path(name).name not in found]
    if unknown:
        print(
            f"error: no notebook {', '.join(unknown)} in {folder}; the notebooks are: {', '.join(found)}",
            file=sys.stderr,
        )
        return 2
    try:
        for name in names or found:
            refresh(folder / Path(name).name)
    except KeyboardInterrupt:
        print("interrupted: the notebook being executed is left as it was", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
