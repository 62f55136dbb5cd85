"""Where a run writes: checked before any work, and a device that cannot take a write reported as such.

`check_writable` runs before anything is read or computed: the folder (or the nearest part of its path that
exists) must be a folder, writable, on a device with some space left. `writing` turns the operating system's
"no space left" / "read-only" / "permission denied" failures of a write into an `OutputError` (exit 2) that says
so; every write inside it is atomic (pipelines.atomic), so a failed write leaves no partial file behind.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import OutputError

MIN_FREE_BYTES = 1 << 20  # below this, a run could not write even its metrics and manifest
NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR}


def check_writable(path: Path | str, option: str) -> None:
    """OutputError unless files can be written under `path` (which need not exist yet)."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(
            f"{option} {path}: {existing} is a file, not a folder, so nothing can be written under it. "
            f"Give {option} a folder (it is created when missing)."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(_not_writable(option, path, existing, "no permission to write there"))
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise OutputError(_not_writable(option, path, existing, _reason(exc))) from exc
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        raise OutputError(
            f"No space left on the device of {option} {path}: {_size(free)} free. Free some space, or choose "
            f"another {option}, and run again."
        )


@contextmanager
def writing(what: str, option: str) -> Iterator[None]:
    """Run writes of `what`; a full or unwritable device becomes an OutputError naming the file and `option`."""
    try:
        yield
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        if exc.errno in NO_SPACE:
            raise OutputError(
                f"No space left on the device while writing {what}{where}. Nothing half-written was kept: free "
                f"some space, or choose another {option}, and run again."
            ) from exc
        if exc.errno in NOT_WRITABLE:
            raise OutputError(
                f"{what[0].upper()}{what[1:]} cannot be written{where}: {_reason(exc)}. Choose another {option}, or "
                "make it writable, and run again."
            ) from exc
        raise


def _not_writable(option: str, path: Path, existing: Path, reason: str) -> str:
    return (
        f"{option} {path} cannot be written: {reason} (in {existing}). Choose another {option}, or make it "
        "writable, and run again."
    )


def _reason(exc: OSError) -> str:
    readable = {errno.EROFS: "a read-only file system", errno.EACCES: "permission denied"}
    return readable.get(exc.errno, exc.strerror or str(exc))


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "bytes" else f"{count} bytes"
        value /= 1024
    return f"{count} bytes"
