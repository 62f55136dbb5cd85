"""Run directories: runs/<UTC time>-<short id>/, written in a hidden temporary folder and renamed into place
when complete, so a run directory either exists whole or not at all. runs/latest points to the newest complete
run (by the start time in its name), whichever finishes last.

Every file is written atomically, so an interrupted folder (`.incomplete-<name>`, kept to resume) holds only
complete files; a hidden temporary file left by a process killed while writing is removed when it is resumed.

The process writing a folder holds a lock on its `.run.lock` file (flock; the file holds the process id). The
kernel releases it when that process ends, however it ends: a folder whose lock is free was interrupted and can be
resumed at once; one whose lock is held belongs to a run still going, which `runs` shows and `--resume` refuses.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError
from pipelines.files import MANIFEST, is_temporary, sha256_file, write_text_atomic, writing

CONFIG = "config.json"
LATEST = "latest"
LOCK = ".latest.lock"
INCOMPLETE = ".incomplete-"
RUN_NAME = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")  # new_run_name's shape
RUN_LOCK = ".run.lock"  # in the folder, held while a process writes it (not a file of the run: no hash)


def new_run_name() -> str:
    """A new run's name: its start (UTC) and six random hex digits, `20261207T130641Z-d0c0a4`."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class RunDirectory:
    """Collects a run's files in `<root>/.incomplete-<name>`; `commit` renames it to `<root>/<name>`."""

    def __init__(self, root: Path | str, name: str | None = None):
        self.root = Path(root)
        self._made_root = not self.root.exists()
        self.name = name or new_run_name()
        self.staging = self.root / f"{INCOMPLETE}{self.name}"
        with writing("the run directory", "--output"):
            self.staging.mkdir(parents=True, exist_ok=name is not None)
            self._lock = _hold(self.staging)

    @classmethod
    def reopen(cls, path: Path | str) -> RunDirectory:
        """An interrupted run's folder (`<root>/.incomplete-<name>`), to resume it."""
        path = Path(path)
        resumable_config(path)
        run = cls(path.parent, path.name.removeprefix(INCOMPLETE))  # locked: no other process writes it now
        for leftover in [p for p in path.rglob("*") if p.is_file() and is_temporary(p)]:
            leftover.unlink()  # half a file from a process killed while writing it
        return run

    def read_json(self, relative: str) -> Any:
        return json.loads((self.staging / relative).read_text())

    @property
    def final(self) -> Path:
        return self.root / self.name

    @property
    def committed(self) -> bool:
        """Whether `commit` has renamed the folder into place (the run is complete)."""
        return not self.staging.exists() and (self.final / MANIFEST).exists()

    def path(self, relative: str) -> Path:
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_json(self, relative: str, document: Any) -> Path:
        return self.write_text(relative, json.dumps(document, indent=2, default=_json_default) + "\n")

    def write_text(self, relative: str, text: str) -> Path:
        """Write `relative` atomically: the folder holds the whole file or none of it."""
        return write_text_atomic(self.path(relative), text)

    def keep_only(self, *names: str) -> None:
        """Remove everything in the folder but `names` (files or folders): what a stopped run keeps to resume."""
        for entry in self.staging.iterdir():
            if entry.name in (*names, RUN_LOCK):
                continue
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()

    def file_hashes(self) -> dict[str, str]:
        return {
            str(p.relative_to(self.staging)): sha256_file(p)
            for p in sorted(self.staging.rglob("*"))
            if p.is_file() and p.name not in (MANIFEST, RUN_LOCK)
        }

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Write the manifest (with every file's sha256), rename into place, point `latest` at it unless it names
        a newer run: runs finishing out of order leave it on the newest (by the start time in the names)."""
        self.write_json(MANIFEST, {**manifest, "run": self.name, "files": self.file_hashes()})
        os.rename(self.staging, self.final)
        with open(self.root / LOCK, "a") as lock:  # one commit at a time reads and moves `latest`
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = latest_name(self.root)
            newer = current is not None and _started(current) > _started(self.name)  # same second: the last one
            if not newer or not (self.root / current / MANIFEST).exists():
                link = self.root / f".{LATEST}-{self.name}"
                link.symlink_to(self.name)
                os.replace(link, self.root / LATEST)
        (self.final / RUN_LOCK).unlink(missing_ok=True)
        self.release()
        return self.final

    def abort(self) -> None:
        """Remove everything this run wrote, the output folder too if the run created it."""
        shutil.rmtree(self.staging, ignore_errors=True)
        self.release()
        if self._made_root and not any(self.root.iterdir()):
            self.root.rmdir()

    def release(self) -> None:
        """Let the folder go (its lock), for a resume in this process or another; idempotent."""
        self._lock.close()


def resumable_config(path: Path | str) -> dict[str, Any]:
    """The saved settings of the interrupted run at `path`; ConfigError for a folder that is not one, or that a live
    process still writes."""
    path = Path(path)
    if not path.name.startswith(INCOMPLETE):
        complete = (path / MANIFEST).exists()
        raise ConfigError(
            f"{path} is {'a complete run' if complete else 'not an interrupted run'}: --resume takes the "
            f"{INCOMPLETE}<name> folder that an interrupted run leaves in its output folder."
        )
    if not (path / CONFIG).exists():
        raise ConfigError(f"{path} has no {CONFIG}: it cannot be resumed; start a new run.")
    pid = running(path)
    if pid is not None:
        by = f" (pid {pid})" if pid else ""
        raise ConfigError(
            f"{path} is still running{by}: a second process would write the same folder. Wait for it to end, or "
            f"stop it{f' (kill {pid})' if pid else ''} and resume then."
        )
    return json.loads((path / CONFIG).read_text())


def running(folder: Path) -> int | None:
    """The process id of the live process writing `folder` (0 when it has not written it yet), or None."""
    try:
        handle = open(folder / RUN_LOCK)  # noqa: SIM115 (closed below; a lock is tried on it)
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _hold(folder: Path) -> Any:
    """Take `folder`'s lock for this process (ConfigError when another holds it) and write this process's id."""
    handle = open(folder / RUN_LOCK, "a+")  # noqa: SIM115 (held open until release)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(f"{folder} is being written by another process; see `devicepipe runs`.") from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def latest_name(root: Path) -> str | None:
    """The run `root/latest` names, or None without one."""
    try:
        return os.readlink(root / LATEST)
    except OSError:
        return None


def _started(name: str) -> str:
    """The start time in a run's name (<UTC time>-<id>), which sorts as the times do."""
    return name.partition("-")[0]


def git_commit() -> str | None:
    """The project checkout's commit, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).resolve().parent
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
