"""GPU memory settings: one RMM pool shared by cuDF, CuPy and torch; cuDF spilling. Each runs in a fresh
process, since the settings must come before torch's first device allocation."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipelines.errors import ConfigError
from tests.conftest import ROOT

pytestmark = [pytest.mark.gpu, pytest.mark.rapids]

SCRIPT = """
import torch, cudf, rmm
from cudf.core.buffer.spill_manager import get_global_manager
from pipelines.backend import configure_gpu_memory, select
backend = select("gpu", rmm_pool=True, spill=True)
assert configure_gpu_memory(pool=True, spill=True) == {"rmm_pool": True, "spill": True}
x = torch.ones(1 << 20, device="cuda")
frame = cudf.DataFrame({"a": range(1000)})
assert float(frame["a"].sum()) == 499500.0 and float(x.sum()) == float(1 << 20)
# The pool is RMM's current resource (spilling on demand may wrap it in a failure-callback adaptor).
stack, mr = [], rmm.mr.get_current_device_resource()
while mr is not None:
    stack.append(type(mr).__name__)
    mr = getattr(mr, "upstream_mr", None)
assert any("Pool" in name for name in stack), stack
manager = get_global_manager()
assert manager is not None, "cuDF made its spill manager before spilling was switched on"
assert len(manager.buffers()) > 0, "the spill manager tracks no cuDF buffer"
print("ok")
"""


def _run_fresh(script: str) -> subprocess.CompletedProcess:
    """Run `script` in a fresh Python process with the repository importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)


def test_pool_and_spill_in_a_fresh_process(gpu):
    result = _run_fresh(SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


SPILL_TOO_LATE = """
import cudf
from pipelines.backend import configure_gpu_memory
from pipelines.errors import ConfigError
cudf.Series([1, 2, 3]).sum()  # the first cuDF object: cuDF fixes its spill setting here
try:
    configure_gpu_memory(spill=True)
except ConfigError as exc:
    print("refused:", exc)
"""


def test_spilling_asked_for_after_the_first_cudf_object_is_refused(gpu):
    result = _run_fresh(SPILL_TOO_LATE)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "refused: --spill must be set before the process makes its first cuDF object" in result.stdout


def test_settings_cannot_change_within_a_process(gpu):
    from pipelines import backend as backends

    current = backends.configure_gpu_memory()
    with pytest.raises(ConfigError, match="already configured"):
        backends.configure_gpu_memory(pool=not current["rmm_pool"], spill=current["spill"])
