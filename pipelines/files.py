"""Files a run reads and writes: atomic writes, sha256, and a device that cannot take a write reported as such.

Atomic writes: write to a temporary file beside the target, then rename over it. A reader sees the old file or the
new one, never half of one; a failed write leaves no temporary behind (a process killed while writing may leave a
hidden `.<name>.<random>.tmp` file, which `is_temporary` recognises).

`check_writable` runs before anything is read or computed: the folder (or the nearest part of its path that
exists) must be a folder, writable, on a device with some space left. `writing` turns the operating system's
"no space left" / "read-only" / "permission denied" failures of a write into an `OutputError` (exit 2) that says
so; every write inside it is atomic, so a failed write leaves no partial file behind.

sha256 of files: the inputs a run read, the files it wrote, the bundle files checked before loading.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import OutputError

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


def sha256_file(path: Path | str) -> str:
    """sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


MANIFEST = "manifest.json"  # a run directory's record: the sha256 of every file the run wrote, the bundle's too
MIN_FREE_BYTES = 1 << 20  # below this, a run could not write even its metrics and manifest
NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR}


def nearest_existing(path: Path) -> Path:
    """`path`, or the nearest folder above it that exists (where a write to `path` would land)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_writable(path: Path | str, option: str) -> None:
    """OutputError unless files can be written under `path` (which need not exist yet)."""
    path = Path(path)
    existing = nearest_existing(path)
    if not existing.is_dir():
        raise OutputError(
            f"{option} {path}: {existing} is a file, not a folder, so nothing can be written under it. "
            f"Give {option} a folder (it is created when missing)."
        )
    try:  # a file written there says why not (read-only file system, permission denied), where a mode bit cannot
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise OutputError(_not_writable(option, path, existing, _reason(exc))) from exc
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        raise OutputError(
            f"No space left on the device of {option} {path}: {size_text(free)} free. Free some space, or choose "
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


def size_text(count: int) -> str:
    """A byte count for people: "812 bytes", "9.6 MiB", "1.2 GiB"."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "bytes" else f"{count} bytes"
        value /= 1024
    return f"{count} bytes"
