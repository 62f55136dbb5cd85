"""The compute backend: pandas/NumPy/scikit-learn/torch-CPU, or cuDF/CuPy/cuML/torch-CUDA.

This package is the only place that imports RAPIDS (cudf, cupy, cuml, rmm; dask_cudf and dask_cuda would
live here too); tests/pipelines/backend/test_backend.py enforces it. Every other module uses the pandas API that cuDF
shares, or asks the `Backend` for the piece that differs. The CPU/GPU boundary is the file boundary:

- base.py: `Backend`, the frozen dataclass both paths share, with the methods that are the same on both and
  abstract declarations of those that differ; and `csv_delimiter` (a tab for .tsv files, else a comma);
- cpu.py: `CpuBackend` and `cpu_backend()`: pandas, NumPy, scikit-learn; no RAPIDS import;
- gpu.py: `GpuBackend`: every cuDF/CuPy/cuML call of the backend's methods, RAPIDS imported inside functions
  so that the module imports where RAPIDS is not installed;
- memory.py: `configure_gpu_memory`: the RMM pool and cuDF spilling, once per process;
- probe.py: `select` (once per process), `gpu_unusable_reason` (the device probe), `library_versions`;
- transfers.py: `model_transfers`, the block in which a library's copies are its model's, not the data's (the
  residency ledger records them apart);
- timestamps.py: ISO 8601 text to datetimes by column arithmetic (the GPU backend's parse, checked on pandas);
- frames.py: the hooks the feature ops use on bare frames (`module_of`, `hasher_of`, `hash_buckets`, `like`,
  `category_codes`, `sample_values`, `host_copy`, `index_values`, `read_parquet_piece` (a Dask worker's read),
  and `column_values` / `to_host` for the exact order statistics).

May import: the basics (config, errors, files, evaluate) and RAPIDS; nothing else of pipelines/.
"""

from pipelines.backend.base import Backend, csv_delimiter
from pipelines.backend.cpu import CpuBackend, cpu_backend
from pipelines.backend.frames import (
    category_codes,
    column_values,
    hash_buckets,
    hasher_of,
    host_copy,
    index_values,
    joined,
    like,
    module_of,
    read_parquet_piece,
    sample_values,
    to_host,
)
from pipelines.backend.gpu import GpuBackend
from pipelines.backend.memory import configure_gpu_memory
from pipelines.backend.probe import CHOICES, ENV_VAR, gpu_unusable_reason, library_versions, select
from pipelines.backend.timestamps import ISO_8601
from pipelines.backend.transfers import model_transfers, transfers_handled_by

__all__ = [
    "CHOICES",
    "ENV_VAR",
    "ISO_8601",
    "Backend",
    "CpuBackend",
    "GpuBackend",
    "category_codes",
    "column_values",
    "configure_gpu_memory",
    "cpu_backend",
    "csv_delimiter",
    "gpu_unusable_reason",
    "hash_buckets",
    "hasher_of",
    "host_copy",
    "index_values",
    "joined",
    "library_versions",
    "like",
    "model_transfers",
    "module_of",
    "read_parquet_piece",
    "sample_values",
    "select",
    "to_host",
    "transfers_handled_by",
]
