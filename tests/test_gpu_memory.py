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
from pipelines.backend import configure_gpu_memory, select
backend = select("gpu")
print(configure_gpu_memory(pool=True, spill=True))
x = torch.ones(1 << 20, device="cuda")
frame = cudf.DataFrame({"a": range(1000)})
assert float(frame["a"].sum()) == 499500.0 and float(x.sum()) == float(1 << 20)
assert "Pool" in type(rmm.mr.get_current_device_resource()).__name__, type(rmm.mr.get_current_device_resource())
assert cudf.get_option("spill") is True
print("ok")
"""


def test_pool_and_spill_in_a_fresh_process(gpu):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def test_settings_cannot_change_within_a_process(gpu):
    from pipelines import backend as backends

    current = backends.configure_gpu_memory()
    with pytest.raises(ConfigError, match="already configured"):
        backends.configure_gpu_memory(pool=not current["rmm_pool"], spill=current["spill"])
