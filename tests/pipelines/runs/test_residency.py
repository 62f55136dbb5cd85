"""The residency ledger: memcpy bytes by direction from a profiler trace, the strict check, the CPU case."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from pipelines.backend import model_transfers
from pipelines.report.markdown import residency_lines
from pipelines.runs import residency
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
    from pipelines.report.residency import residency_notes

    notes = residency_notes(Ledger.for_run(gpu=True, strict=False).as_dict())
    assert notes[-1] == "copies not traced: --strict-residency traces each stage's copies"


def test_a_models_own_copies_are_recorded_apart_and_left_out_of_the_budget(monkeypatch):
    """A stage is traced in segments, one profiler at a time: the copies inside `model_transfers` (a library
    keeping its trees on the host) are the model's, the others the data's."""
    tracing: list[dict[str, int]] = []  # the profiles open now

    @contextmanager
    def profiled():
        copies, seen = {}, {"device_to_host_bytes": 0, "device_to_host_copies": 0}
        tracing.append(seen)
        try:
            yield copies
        finally:
            tracing.remove(seen)
            copies.update(seen)

    def copy_to_host(size: int) -> None:
        assert len(tracing) == 1  # every copy of the stage is seen, by one profile
        tracing[0]["device_to_host_bytes"] += size
        tracing[0]["device_to_host_copies"] += 1

    monkeypatch.setattr(residency, "_profiled", profiled)
    ledger = Ledger(enabled=True, calibration={"copied_bytes": 1, "seen_bytes": 1})
    with ledger.stage("baselines"):
        copy_to_host(8)
        with model_transfers("XGBoost's fit"):
            copy_to_host(3_000_000)
            copy_to_host(2_000_000)
        copy_to_host(16)
    with model_transfers("outside a traced stage"):  # no ledger traces here: nothing recorded
        pass
    assert ledger.stages["baselines"] == {"device_to_host_bytes": 24, "device_to_host_copies": 2}
    model = {"device_to_host_bytes": 5_000_000, "device_to_host_copies": 2}
    assert ledger.models == {"baselines": {"XGBoost's fit": model}}
    ledger.check(budget_bytes=1 << 20)
    with pytest.raises(ResidencyError, match=r"24 bytes .* not counted: 5000000 bytes the models' libraries copied"):
        ledger.check(budget_bytes=16)
    assert "not budgeted, in baselines: XGBoost's fit copied 4.8 MiB of its model" in residency_lines(
        ledger.as_dict()
    )


def test_a_stage_that_fails_inside_a_model_block_ends_every_profile(monkeypatch):
    opened: list[str] = []

    @contextmanager
    def profiled():
        opened.append("open")
        try:
            yield {}
        finally:
            opened.remove("open")

    monkeypatch.setattr(residency, "_profiled", profiled)
    ledger = Ledger(enabled=True, calibration={"copied_bytes": 1, "seen_bytes": 1})
    with pytest.raises(ValueError, match="bad fit"), ledger.stage("baselines"), model_transfers("a fit"):
        raise ValueError("bad fit")
    assert opened == [] and "baselines" not in ledger.stages
    with model_transfers("after"):  # the ledger's handler is gone with its stage
        assert opened == []
