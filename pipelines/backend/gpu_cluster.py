"""The GPU cluster: dask_cuda's LocalCUDACluster (one worker per GPU, RMM's asynchronous resource, cuDF spilling).
RAPIDS is imported inside the function, as everywhere in the backend package."""

from __future__ import annotations

from typing import Any

from pipelines.errors import BackendUnavailable


def cluster_options() -> dict[str, Any]:
    """LocalCUDACluster's keywords besides the worker count (tests/gpu/test_rapids_api.py passes them through
    dask-cuda's own checks). Each worker allocates through RMM's asynchronous resource, which takes device memory
    as it is used rather than reserving a share up front: on a machine with one GPU, worker 0 shares the device
    with the run's own process, which gathers the features, hands them off and trains the MLP there."""
    return {"threads_per_worker": 1, "rmm_async": True, "enable_cudf_spill": True, "dashboard_address": ":0"}


def local_cuda_cluster(n_workers: int | None = None) -> Any:
    """A LocalCUDACluster with `n_workers` GPUs (default: every visible one), each worker on RMM's asynchronous
    resource, with cuDF spilling to host memory when its device runs short."""
    try:
        from dask_cuda import LocalCUDACluster
    except ImportError as exc:
        raise BackendUnavailable(
            f"--cluster local-cuda needs dask-cuda ({exc}); install the GPU extra (pip install -e '.[gpu-cu13]') "
            "or use --cluster local."
        ) from exc
    return LocalCUDACluster(n_workers=n_workers, **cluster_options())
