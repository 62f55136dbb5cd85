"""The GPU cluster: dask_cuda's LocalCUDACluster (one worker per GPU, an RMM pool, cuDF spilling). RAPIDS is
imported inside the function, as everywhere in the backend package."""

from __future__ import annotations

from typing import Any

from pipelines.errors import BackendUnavailable


def local_cuda_cluster(n_workers: int | None = None) -> Any:
    """A LocalCUDACluster with `n_workers` GPUs (default: every visible one), each worker with an RMM pool and
    cuDF spilling to host memory when its device runs short."""
    try:
        from dask_cuda import LocalCUDACluster
    except ImportError as exc:
        raise BackendUnavailable(
            f"--cluster local-cuda needs dask-cuda ({exc}); install the GPU extra (pip install -e '.[gpu-cu13]') "
            "or use --cluster local."
        ) from exc
    return LocalCUDACluster(
        n_workers=n_workers, threads_per_worker=1, rmm_pool_size="90%", enable_cudf_spill=True, dashboard_address=None
    )
