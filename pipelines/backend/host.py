"""Host memory: hand what a stage freed back to the operating system, and say how much memory there is.

Freed frames do not shrink a process by themselves: glibc's malloc keeps large freed blocks in its heap and
Arrow's allocator (mimalloc or jemalloc) keeps freed pages for reuse. On a 10M-row run that retained memory is
several GiB, so the next stage's peak stacks on top of the last one's. `release_host_memory` runs between
stages: a garbage collection, Arrow's `release_unused`, and glibc's `malloc_trim` (a no-op elsewhere).

That collection would walk the hundreds of thousands of objects that torch, Prefect, pandas and the rest create
at import (about 0.23 s each time on 2 cores): `freeze_imports` moves what exists before the first stage out of
the collector's reach, once per process, so each collection scans only what the stages made.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa

_FROZEN: list[bool] = []


def freeze_imports() -> None:
    """Once per process, before the first stage: `gc.freeze()` the objects alive now (modules, classes, the
    flow's machinery; no data has been read yet). They stay freed by reference counting as ever; only the cyclic
    collector stops re-scanning them at every stage."""
    if not _FROZEN:
        gc.collect()
        gc.freeze()
        _FROZEN.append(True)


def release_host_memory() -> None:
    """Collect garbage and return freed host memory to the operating system."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's malloc_trim, or None where the C library is not glibc (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def available_host_bytes() -> int:
    """Memory this process may still take: the machine's available memory, or less where a cgroup limits it."""
    available = psutil.virtual_memory().available
    limit = _cgroup_room()
    return min(available, limit) if limit is not None else available


def _cgroup_room() -> int | None:
    """memory.max - memory.current of this process's cgroup (v2), or None where there is no limit."""
    try:
        line = Path("/proc/self/cgroup").read_text().splitlines()[0]
        folder = Path("/sys/fs/cgroup") / line.split("::", 1)[1].lstrip("/")
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(int(limit) - int((folder / "memory.current").read_text()), 0)
    except (OSError, IndexError, ValueError):
        return None
