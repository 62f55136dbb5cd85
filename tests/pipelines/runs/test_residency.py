"""The residency ledger: memcpy bytes by direction from a profiler trace, the strict check, the CPU case."""

from __future__ import annotations

import pytest

from pipelines.report.markdown import residency_lines
from pipelines.runs.residency import CALIBRATION_BYTES, Ledger, ResidencyError, copies_in_trace

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


@pytest.mark.parametrize(
    ("gpu", "strict", "enabled", "source"),
    [
        (True, True, True, "torch.profiler CUDA activity"),
        (True, False, False, "not traced: --strict-residency traces"),
        (False, True, False, "none (CPU backend)"),
        (False, False, False, "none (CPU backend)"),
    ],
)
def test_a_run_traces_its_copies_on_the_gpu_under_strict_residency_only(gpu, strict, enabled, source):
    """Tracing records every kernel of a stage: only a run that asks for the check pays for it."""
    ledger = Ledger.for_run(gpu, strict)
    assert ledger.enabled is enabled and ledger.as_dict()["source"].startswith(source)
    if not enabled:
        with ledger.stage("load"):  # no profiler, no device touched
            pass
        assert ledger.as_dict()["stages"] == {}


def test_a_ledger_blind_to_its_test_copy_refuses_to_vouch_and_says_so():
    """Zeros from a profiler that records nothing must not pass for perfect residency."""
    blind = Ledger(enabled=True, stages={"train": {"device_to_host_bytes": 0}})
    blind.calibration = {"copied_bytes": CALIBRATION_BYTES, "seen_bytes": 0}
    assert blind.sees_copies is False and blind.as_dict()["sees_copies"] is False
    with pytest.raises(ResidencyError, match="cannot be checked: the profiler saw 0 of the 1048576 bytes"):
        blind.check()
    report = residency_lines({**blind.as_dict(), "handoff_zero_copy": True})
    assert "the ledger cannot see copies" in report and "prove nothing" in report

    seeing = Ledger(enabled=True, stages={"train": {"device_to_host_bytes": 8}})
    seeing.calibration = {"copied_bytes": CALIBRATION_BYTES, "seen_bytes": CALIBRATION_BYTES}
    assert seeing.sees_copies is True
    seeing.check(budget_bytes=8)
    with pytest.raises(ResidencyError, match="Strict residency: 8 bytes"):
        seeing.check(budget_bytes=4)
    assert "its counts are live" in residency_lines(seeing.as_dict())


def test_cpu_ledger_has_no_calibration():
    assert Ledger(enabled=False).as_dict()["sees_copies"] is None
    assert Ledger(enabled=False).as_dict()["calibration"] is None


@pytest.mark.gpu
def test_ledger_sees_a_real_copy(cuda_device):
    import torch

    ledger = Ledger(enabled=True)
    with ledger.stage("copy"):
        host = torch.ones(1 << 20, device=cuda_device).cpu()
    assert host.numel() == 1 << 20
    assert ledger.stages["copy"]["device_to_host_bytes"] >= 4 << 20
    assert ledger.sees_copies is True and ledger.calibration["seen_bytes"] >= CALIBRATION_BYTES
    assert ledger.stages["copy"]["host_to_device_bytes"] == 0  # the calibration copy is not charged to a stage


def test_the_report_says_a_gpu_run_was_not_traced():
    from pipelines.report.markdown import residency_notes

    notes = residency_notes(Ledger.for_run(gpu=True, strict=False).as_dict())
    assert notes[-1] == "copies not traced: --strict-residency traces each stage's copies"
