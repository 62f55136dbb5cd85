"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A reader sees the old file or the new one, never half of one; a failed write leaves no temporary behind (a process
killed while writing may leave a hidden `.<name>.<random>.tmp` file, which `is_temporary` recognises).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644  # mkstemp creates 0600; saved models and data are meant to be shared


TEMPORARY = ".tmp"  # a temporary file is hidden and has this in its suffix: ".<name>.<random>.tmp[<suffix>]"


@contextmanager
def atomic_path(path: Path | str, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on error it is removed.

    `keep_suffix`: the temporary file ends in `path`'s suffix too, for writers that choose the format by it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = TEMPORARY + (path.suffix if keep_suffix else "")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path | str, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def is_temporary(path: Path) -> bool:
    """A temporary file `atomic_path` made (left behind only by a process killed while writing)."""
    return path.name.startswith(".") and TEMPORARY in path.suffixes
