"""Choosing the backend: `select`, once per process, and the device probe behind it.

`select("auto")` takes the GPU only when RAPIDS imports *and* a CUDA device answers a real operation:
importing cudf succeeds on a machine without a GPU, and only the first operation fails.

Once per process: the probe runs at the first GPU-capable request (and again only when CUDA_VISIBLE_DEVICES
changes), and later calls get the same `Backend` object. The GPU memory settings (`rmm_pool`, `spill`) are
applied during that first probe, before the process's first cuDF object, and cannot change afterwards: a later
request for other settings, once the GPU was selected, is a ConfigError. Tests forget the selections with
`_reset_selection()` (the `fresh_backend_selection` fixture in tests/conftest.py).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from importlib import metadata

import torch

from pipelines.backend.base import Backend
from pipelines.backend.cpu import CpuBackend, cpu_backend
from pipelines.backend.gpu import gpu_backend
from pipelines.backend.memory import configure_gpu_memory
from pipelines.errors import BackendUnavailable, ConfigError

CHOICES = ("auto", "cpu", "gpu")
ENV_VAR = "DEVICEPIPE_BACKEND"


@dataclass(frozen=True)
class _Probe:
    """One probe's outcome: `backend` is the GPU backend where `reason` is None."""

    reason: str | None
    backend: Backend | None
    memory: dict[str, bool]  # the settings the probe applied (or would have, without a device)


_LOCK = threading.Lock()
_CPU: list[CpuBackend] = []  # the CPU backend `select` returns, made at the first request for it
_PROBES: dict[str | None, _Probe] = {}  # by the value of CUDA_VISIBLE_DEVICES at probing time


def select(requested: str | None = "auto", *, rmm_pool: bool = False, spill: bool = False) -> Backend:
    """The backend for `requested` ("auto" | "cpu" | "gpu"); `DEVICEPIPE_BACKEND` replaces "auto".

    `rmm_pool` and `spill` (GPU only) are applied while probing the device, before the probe creates the
    process's first cuDF object: cuDF reads its spill option once, when that first object is made. Pass the
    same settings to every call in a process: the first GPU selection fixes them (see the module docstring).
    """
    choice = _resolve(requested)
    with _LOCK:
        if choice == "cpu":
            return _cpu()
        probe = _probe({"rmm_pool": rmm_pool, "spill": spill})
        if probe.backend is not None:
            return probe.backend
        if choice == "gpu":
            raise BackendUnavailable(
                f"The GPU backend was requested but no usable GPU was found ({probe.reason}). "
                "Install the RAPIDS extra (pip install 'devicepipe[gpu-cu13]') on a machine with a CUDA GPU, "
                "or run with --backend cpu."
            )
        return _cpu()


def _resolve(requested: str | None) -> str:
    choice = (requested or "auto").lower()
    if choice == "auto":
        choice = os.environ.get(ENV_VAR, "auto").lower() or "auto"
    if choice not in CHOICES:
        raise ConfigError(
            f"Unknown backend {choice!r}: expected one of {', '.join(CHOICES)}. "
            f"Check --backend and the {ENV_VAR} environment variable."
        )
    return choice


def _cpu() -> CpuBackend:
    if not _CPU:
        _CPU.append(cpu_backend())
    return _CPU[0]


def _probe(memory: dict[str, bool]) -> _Probe:
    """This process's probe for the visible devices: run once, then reused; other settings after a GPU refused."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    done = _PROBES.get(visible)
    if done is None:
        reason = gpu_unusable_reason(**memory)  # a ConfigError from the memory settings propagates, unrecorded
        done = _Probe(reason, gpu_backend() if reason is None else None, dict(memory))
        _PROBES[visible] = done
    elif done.backend is not None and done.memory != memory:
        raise ConfigError(
            f"The GPU backend was already selected in this process with GPU memory settings "
            f"{_spelled(done.memory)}; this selection asks for {_spelled(memory)}. The settings are applied once, "
            "before the process's first cuDF object, and cannot change: pass the same --rmm-pool/--spill to every "
            "selection, or start a new process for the new settings."
        )
    return done


def _spelled(memory: dict[str, bool]) -> str:
    return ", ".join(f"{name}={value}" for name, value in memory.items())


def _reset_selection() -> None:
    """Forget this process's selections, so that the next `select` probes again. For tests only.

    GPU memory settings stay as they were configured (`memory._MEMORY`): a process cannot undo them.
    """
    with _LOCK:
        _CPU.clear()
        _PROBES.clear()


def gpu_unusable_reason(rmm_pool: bool = False, spill: bool = False) -> str | None:
    """None when RAPIDS imports and a CUDA device runs a real cuDF operation; else why not.

    With a device present, the memory settings (`configure_gpu_memory`) are applied before that operation.
    This is the probe itself, run on every call; `select` runs it once per process.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return f"CUDA_VISIBLE_DEVICES={visible!r} hides every device"
    try:
        import cudf
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA runtime raised at import
        return f"RAPIDS is not importable: {type(exc).__name__}: {exc}"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device is visible"
        if not torch.cuda.is_available():
            return "torch was built without CUDA or cannot see the device"
    except Exception as exc:
        return f"the CUDA probe failed: {type(exc).__name__}: {exc}"
    try:
        configure_gpu_memory(pool=rmm_pool, spill=spill)
    except ConfigError:  # the user's settings: theirs to see, not a reason to fall back
        raise
    except Exception as exc:  # a device too busy or too full for the pool (rmm.reinitialize)
        return f"the GPU memory setup failed: {type(exc).__name__}: {exc}"
    try:
        if int(cudf.Series([1, 2]).sum()) != 3:
            return "a cuDF probe returned a wrong result"
    except Exception as exc:
        return f"the CUDA probe failed: {type(exc).__name__}: {exc}"
    return None


def library_versions() -> dict[str, str]:
    """Versions of the libraries a run depends on, RAPIDS included where installed."""
    names = ["numpy", "pandas", "pyarrow", "scikit-learn", "xgboost", "torch", "prefect"]
    names += ["cudf-cu13", "cudf-cu12", "cuml-cu13", "cuml-cu12", "cupy-cuda13x", "cupy-cuda12x"]
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
