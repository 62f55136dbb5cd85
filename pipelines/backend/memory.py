"""GPU memory settings: one RMM pool shared by cuDF, CuPy and torch; cuDF spilling to host memory.

Without the pool, cuDF and CuPy (which `import cudf` points at RMM) allocate through RMM's asynchronous resource
(`cudaMallocAsync`, the driver's own stream-ordered pool) instead of RMM's default, a synchronous cudaMalloc and
cudaFree for every buffer; torch keeps its caching allocator, so its tensors can still be passed between the
training processes by CUDA IPC handle.

Both are fixed once per process, before its first cuDF object and torch's first device allocation, so
`probe.select` applies them while probing the device. RAPIDS is imported inside the functions.
"""

from __future__ import annotations

import torch

from pipelines.errors import ConfigError

# The settings this process was configured with; empty until `configure_gpu_memory` succeeds.
_MEMORY: dict[str, bool] = {}


def configure_gpu_memory(pool: bool = False, spill: bool = False) -> dict[str, bool]:
    """Device memory settings, once per process, before the first cuDF object and torch's first allocation.

    `select` calls this while probing the device; call it directly only before anything touches the GPU.
    pool: one RMM pool allocator shared by cuDF, CuPy (rmm_cupy_allocator) and torch (rmm_torch_allocator),
    so the libraries reuse one another's freed memory instead of each caching its own.
    spill: cuDF spills device buffers to host memory when the device runs short (as CUDF_SPILL=on does),
    trading speed for fitting data near the device's size. The pool comes first: spilling on demand wraps
    whichever RMM resource is current when cuDF creates its spill manager.
    """
    wanted = {"rmm_pool": pool, "spill": spill}
    if _MEMORY:
        if wanted != _MEMORY:
            raise ConfigError(f"GPU memory was already configured as {_MEMORY} in this process; start a new one.")
        return dict(_MEMORY)
    if pool:
        _use_one_rmm_pool()
    else:
        _use_the_async_resource()
    if spill:
        _switch_on_spilling()
    _MEMORY.update(wanted)
    return dict(_MEMORY)


def configured_memory() -> dict[str, bool]:
    """The settings `configure_gpu_memory` applied in this process (empty before it ran)."""
    return dict(_MEMORY)


def _use_one_rmm_pool() -> None:
    """An RMM pool as the device resource, and as torch's and CuPy's allocator."""
    import cupy
    import rmm
    from rmm.allocators.cupy import rmm_cupy_allocator
    from rmm.allocators.torch import rmm_torch_allocator

    if rmm_torch_allocator is None:  # rmm defines it only where torch has CUDA and pluggable allocators
        raise ConfigError(
            "--rmm-pool needs a CUDA build of torch with torch.cuda.memory.CUDAPluggableAllocator "
            f"(found torch {torch.__version__}); install a CUDA build of torch or run without --rmm-pool."
        )
    try:
        torch.cuda.memory.change_current_allocator(rmm_torch_allocator)
    except RuntimeError as exc:
        raise ConfigError(
            f"--rmm-pool must be set before torch first allocates on the GPU ({exc}); start a new process."
        ) from exc
    rmm.reinitialize(pool_allocator=True)
    cupy.cuda.set_allocator(rmm_cupy_allocator)


def _use_the_async_resource() -> None:
    """RMM's asynchronous (stream-ordered) resource as this device's resource for cuDF and CuPy."""
    import rmm

    rmm.mr.set_current_device_resource(rmm.mr.CudaAsyncMemoryResource())


def _switch_on_spilling() -> None:
    """cuDF's spill option; refused once cuDF has made its (spill-less) buffer manager."""
    import cudf
    from cudf.core.buffer.spill_manager import get_global_manager

    cudf.set_option("spill", True)
    if get_global_manager() is None:  # cuDF made its (spill-less) manager at the first cuDF object
        raise ConfigError(
            "--spill must be set before the process makes its first cuDF object; start a new process "
            "(or set CUDF_SPILL=on before starting Python)."
        )
