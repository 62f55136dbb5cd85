"""Run directories: runs/<UTC time>-<short id>/, written in a hidden temporary folder and renamed into place
when complete, so a run directory either exists whole or not at all. runs/latest points to the newest complete
run (by the start time in its name), whichever finishes last.

Every file is written atomically, so an interrupted folder (`.incomplete-<name>`, kept to resume) holds only
complete files; a hidden temporary file left by a process killed while writing is removed when it is resumed.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.files import is_temporary, write_text_atomic
from pipelines.errors import ConfigError
from pipelines.files import sha256_file
from pipelines.files import writing
from pipelines.files import MANIFEST

CONFIG = "config.json"
LATEST = "latest"
LOCK = ".latest.lock"
INCOMPLETE = ".incomplete-"


class RunDirectory:
    """Collects a run's files in `<root>/.incomplete-<name>`; `commit` renames it to `<root>/<name>`."""

    def __init__(self, root: Path | str, name: str | None = None):
        self.root = Path(root)
        self._made_root = not self.root.exists()
        self.name = name or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        self.staging = self.root / f"{INCOMPLETE}{self.name}"
        with writing("the run directory", "--output"):
            self.staging.mkdir(parents=True, exist_ok=name is not None)

    @classmethod
    def reopen(cls, path: Path | str) -> RunDirectory:
        """An interrupted run's folder (`<root>/.incomplete-<name>`), to resume it."""
        path = Path(path)
        if not path.name.startswith(INCOMPLETE):
            complete = (path / MANIFEST).exists()
            raise ConfigError(
                f"{path} is {'a complete run' if complete else 'not an interrupted run'}: --resume takes the "
                f"{INCOMPLETE}<name> folder that an interrupted run leaves in its output folder."
            )
        if not (path / CONFIG).exists():
            raise ConfigError(f"{path} has no {CONFIG}: it cannot be resumed; start a new run.")
        for leftover in [p for p in path.rglob("*") if p.is_file() and is_temporary(p)]:
            leftover.unlink()  # half a file from a process killed while writing it
        return cls(path.parent, path.name.removeprefix(INCOMPLETE))

    def read_json(self, relative: str) -> Any:
        return json.loads((self.staging / relative).read_text())

    @property
    def final(self) -> Path:
        return self.root / self.name

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
            if entry.name in names:
                continue
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()

    def file_hashes(self) -> dict[str, str]:
        return {
            str(p.relative_to(self.staging)): sha256_file(p)
            for p in sorted(self.staging.rglob("*"))
            if p.is_file() and p.name != MANIFEST
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
        return self.final

    def abort(self) -> None:
        """Remove everything this run wrote, the output folder too if the run created it."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if self._made_root and not any(self.root.iterdir()):
            self.root.rmdir()


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
