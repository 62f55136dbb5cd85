"""The residency ledger: memcpy bytes by direction from a profiler trace, the strict check, the CPU case."""

from __future__ import annotations

import pytest

from pipelines.residency import Ledger, ResidencyError, copies_in_trace

TRACE = {
    "traceEvents": [
        {"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy HtoD (Pageable -> Device)", "args": {"bytes": 4096}},
        {"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy DtoH (Device -> Pageable)", "args": {"bytes": 8}},
        {"ph": "X", "cat": "Memcpy", "name": "Memcpy DtoD (Device -> Device)", "args": {"bytes": 100}},
        {"ph": "X", "cat": "kernel", "name": "gemm", "args": {}},
        {"ph": "X", "cat": "gpu_memset", "name": "Memset (Device)", "args": {"bytes": 50}},
    ]
}


def test_copies_are_summed_by_direction():
    totals = copies_in_trace(TRACE)
    assert totals["host_to_device_bytes"] == 4096 and totals["host_to_device_copies"] == 1
    assert totals["device_to_host_bytes"] == 8 and totals["device_to_device_bytes"] == 100


def test_strict_check_fails_over_budget_and_names_the_stages():
    ledger = Ledger(
        enabled=True, stages={"features": copies_in_trace(TRACE), "report": {"device_to_host_bytes": 10**9}}
    )
    ledger.check(budget_bytes=8)
    with pytest.raises(ResidencyError, match=r"Strict residency: 8 bytes.*budget of 4.*'features': 8"):
        ledger.check(budget_bytes=4)


def test_cpu_ledger_records_nothing_and_never_fails():
    ledger = Ledger(enabled=False)
    with ledger.stage("load"):
        pass
    ledger.check(budget_bytes=0)
    assert ledger.as_dict()["stages"] == {} and ledger.as_dict()["enabled"] is False


@pytest.mark.gpu
def test_ledger_sees_a_real_copy(cuda_device):
    import torch

    ledger = Ledger(enabled=True)
    with ledger.stage("copy"):
        host = torch.ones(1 << 20, device=cuda_device).cpu()
    assert host.numel() == 1 << 20
    assert ledger.stages["copy"]["device_to_host_bytes"] >= 4 << 20
