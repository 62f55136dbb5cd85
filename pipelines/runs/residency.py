"""The residency ledger: host<->device copy bytes per pipeline stage.

Under --strict-residency on the GPU backend each stage runs under torch.profiler with CUDA activity on; its CUPTI
activity records see every memcpy of the process (cuDF's and CuPy's as well as torch's). The ledger sums their
bytes by direction. Tracing records every kernel of a stage as well, which slows the stage, so a run without
--strict-residency is not traced (`for_run`). On the CPU backend there is no device: the ledger records no copies,
and the handoff pointer checks (in the manifest beside it) are the evidence of zero-copy.

`check(budget)` fails a run whose device-to-host bytes, over the stages between load and the end of training,
exceed a small budget (room for scalars and small vocabularies, not for data).

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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.errors import DevicepipeError

DIRECTIONS = {"HtoD": "host_to_device", "DtoH": "device_to_host", "DtoD": "device_to_device"}
STRICT_STAGES = ("load", "split", "features", "handoff", "baselines", "train")
DEFAULT_BUDGET_BYTES = 1 << 20
CALIBRATION_BYTES = 1 << 20


class ResidencyError(DevicepipeError):
    """Data left the device between load and the end of training."""


@dataclass
class Ledger:
    """Copy bytes and counts per stage; `enabled` only where there is a device to copy to and from."""

    enabled: bool
    stages: dict[str, dict[str, int]] = field(default_factory=dict)
    calibration: dict[str, int] | None = None  # {"copied_bytes", "seen_bytes"} of the known test copy
    off: str = "none (CPU backend)"  # the manifest's "source" where the ledger is not enabled: why not

    @classmethod
    def for_run(cls, gpu: bool, strict: bool) -> Ledger:
        """The ledger of a run: tracing on the GPU under --strict-residency only."""
        if gpu and not strict:
            return cls(enabled=False, off="not traced: --strict-residency traces each stage's copies")
        return cls(enabled=gpu)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        if self.calibration is None:
            self.calibrate()
        with _profiled() as copies:
            yield
        self.stages[name] = copies

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
                f"training, more than the budget of {budget_bytes} (per stage: {per_stage}). Find the stage "
                "that copies (to_pandas, to_numpy, .cpu(), .item() in a loop) or run without --strict-residency."
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "source": "torch.profiler CUDA activity (CUPTI memcpy records)" if self.enabled else self.off,
            "sees_copies": self.sees_copies,
            "calibration": self.calibration,
            "stages": self.stages,
            "device_to_host_bytes_load_to_train": self.total("device_to_host"),
        }


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
