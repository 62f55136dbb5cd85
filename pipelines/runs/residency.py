"""The residency ledger: host<->device copy bytes per pipeline stage.

Under --strict-residency on the GPU backend each stage runs under torch.profiler with CUDA activity on; its CUPTI
activity records see every memcpy of the process (cuDF's and CuPy's as well as torch's). The ledger sums their
bytes by direction. Tracing records every kernel of a stage as well, which slows the stage, so a run without
--strict-residency is not traced (`for_run`). On the CPU backend there is no device: the ledger records no copies,
and the handoff pointer checks (in the manifest beside it) are the evidence of zero-copy.

`check(budget)` fails a run whose device-to-host bytes, over the stages between load and the end of training,
exceed a small budget (room for scalars and small vocabularies, not for data). What a library copies of its own
model while it fits (XGBoost and cuML keep their trees on the host) is the model's, not the data's: a family wraps
that fit in `pipelines.backend.model_transfers`, and the ledger traces the block as a segment of its own, records
it under `models` (stage, whose model, bytes) and leaves it out of the budget.

A ledger that records nothing would look like perfect residency: where CUPTI's activity records are not
available to the process (profiling restricted to administrators, a CUPTI library that does not match the
driver), the profiler runs and sees no copies. So before its first stage the ledger copies a known number of
bytes to the device under the profiler (`calibrate`); when it does not see them, the manifest and the report
say so, and `check` refuses to vouch for residency.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.backend.transfers import transfers_handled_by
from pipelines.errors import DevicepipeError

DIRECTIONS = {"HtoD": "host_to_device", "DtoH": "device_to_host", "DtoD": "device_to_device"}
STRICT_STAGES = ("load", "split", "features", "handoff", "baselines", "train")
DEFAULT_BUDGET_BYTES = 1 << 20
CALIBRATION_BYTES = 1 << 20


class ResidencyError(DevicepipeError):
    """Data left the device between load and the end of training."""


@dataclass(kw_only=True)
class Ledger:
    """Copy bytes and counts per stage; `enabled` only where there is a device to copy to and from."""

    enabled: bool
    stages: dict[str, dict[str, int]] = field(default_factory=dict)
    calibration: dict[str, int] | None = None  # {"copied_bytes", "seen_bytes"} of the known test copy
    off: str = "none (CPU backend)"  # the manifest's "source" where the ledger is not enabled: why not
    models: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # stage -> whose model -> copies

    @classmethod
    def for_run(cls, gpu: bool, strict: bool) -> Ledger:
        """The ledger of a run: tracing on the GPU under --strict-residency only."""
        if gpu and not strict:
            return cls(enabled=False, off="not traced: --strict-residency traces each stage's copies")
        return cls(enabled=gpu)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """The stage's copies, traced; those inside a `model_transfers` block (pipelines.backend.transfers) are
        recorded apart, in `models`, and kept out of the stage's (the data's) counts."""
        if not self.enabled:
            yield
            return
        if self.calibration is None:
            self.calibrate()
        traced = _Segments()
        traced.open()
        try:
            with transfers_handled_by(traced.model_block):
                yield
        finally:
            traced.close()
        self.stages[name] = traced.data
        if traced.models:
            self.models[name] = traced.models

    def calibrate(self) -> None:
        """Copy CALIBRATION_BYTES host-to-device under the profiler and record how many bytes it saw."""
        import torch

        host = torch.ones(CALIBRATION_BYTES, dtype=torch.uint8)
        with _profiled() as copies:
            device = host.to("cuda")
        del device
        self.calibration = {"copied_bytes": CALIBRATION_BYTES, "seen_bytes": copies["host_to_device_bytes"]}

    @property
    def sees_copies(self) -> bool | None:
        """Whether the profiler saw the calibration copy (None: not calibrated, or no device)."""
        if not self.enabled or self.calibration is None:
            return None
        return self.calibration["seen_bytes"] >= self.calibration["copied_bytes"]

    def total(self, direction: str, stages: tuple[str, ...] = STRICT_STAGES) -> int:
        return sum(self.stages.get(s, {}).get(f"{direction}_bytes", 0) for s in stages)

    def check(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        """ResidencyError if more than `budget_bytes` went device-to-host between load and end of training, or if
        the ledger cannot see copies at all."""
        if not self.enabled:
            return
        if self.sees_copies is False:
            raise ResidencyError(
                f"Strict residency cannot be checked: the profiler saw {self.calibration['seen_bytes']} of the "
                f"{self.calibration['copied_bytes']} bytes of a known host-to-device test copy, so CUDA activity "
                "records are not reaching it (GPU profiling may be restricted to administrators: "
                "NVreg_RestrictProfilingToAdminUsers). Allow profiling for this user or run without "
                "--strict-residency."
            )
        moved = self.total("device_to_host")
        if moved > budget_bytes:
            per_stage = {s: v.get("device_to_host_bytes", 0) for s, v in self.stages.items() if s in STRICT_STAGES}
            raise ResidencyError(
                f"Strict residency: {moved} bytes went from the device to the host between load and the end of "
                f"training, more than the budget of {budget_bytes} (per stage: {per_stage}; not counted: "
                f"{self.model_bytes()} bytes the models' libraries copied of their own models). Find the stage "
                "that copies (to_pandas, to_numpy, .cpu(), .item() in a loop) or run without --strict-residency."
            )

    def model_bytes(self, direction: str = "device_to_host") -> int:
        """The bytes the models' libraries copied of their own models (not budgeted), over every stage."""
        return sum(c.get(f"{direction}_bytes", 0) for models in self.models.values() for c in models.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "source": "torch.profiler CUDA activity (CUPTI memcpy records)" if self.enabled else self.off,
            "sees_copies": self.sees_copies,
            "calibration": self.calibration,
            "stages": self.stages,
            "device_to_host_bytes_load_to_train": self.total("device_to_host"),
            "model_transfers": self.models,
        }


class _Segments:
    """A stage traced in segments: the data's, and between them each model block's, each a profile of its own
    (one profiler at a time), so nothing is matched up afterwards."""

    def __init__(self) -> None:
        self.data: dict[str, int] = {}
        self.models: dict[str, dict[str, int]] = {}
        self._segment: ExitStack | None = None
        self._copies: dict[str, int] = {}

    def open(self) -> None:
        self._segment = ExitStack()
        self._copies = self._segment.enter_context(_profiled())

    def close(self) -> None:
        if self._segment is not None:
            segment, self._segment = self._segment, None
            segment.close()
            _add(self.data, self._copies)

    @contextmanager
    def model_block(self, label: str) -> Iterator[None]:
        self.close()
        try:
            with _profiled() as copies:
                yield
        finally:
            self.open()
        _add(self.models.setdefault(label, {}), copies)


def _add(into: dict[str, int], copies: dict[str, int]) -> None:
    for key, value in copies.items():
        into[key] = into.get(key, 0) + value


@contextmanager
def _profiled() -> Iterator[dict[str, int]]:
    """Profile the block's CUDA activity; the yielded dict is filled with its copy totals when the block ends."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    copies: dict[str, int] = {}
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as profiler:
        yield copies
        torch.cuda.synchronize()
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "trace.json"
        profiler.export_chrome_trace(str(trace))
        copies.update(copies_in_trace(json.loads(trace.read_text())))


def copies_in_trace(trace: dict[str, Any]) -> dict[str, int]:
    """Sum memcpy bytes by direction from a Chrome trace written by torch.profiler."""
    totals = {f"{d}_bytes": 0 for d in DIRECTIONS.values()} | {f"{d}_copies": 0 for d in DIRECTIONS.values()}
    for event in trace.get("traceEvents", []):
        # Kineto names the category "gpu_memcpy" (older releases: "Memcpy"); the name carries the direction.
        if "memcpy" not in str(event.get("cat", "")).lower():
            continue
        direction = next((d for key, d in DIRECTIONS.items() if key in event.get("name", "")), None)
        if direction is None:
            continue
        totals[f"{direction}_bytes"] += int(event.get("args", {}).get("bytes", 0))
        totals[f"{direction}_copies"] += 1
    return totals
