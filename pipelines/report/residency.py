"""The residency ledger as the report shows it (pipelines.runs.residency records it): what it can vouch for, the
copies per stage and direction (GPU), and the handoff's pointer check per split.
"""

from __future__ import annotations

from typing import Any

from pipelines.files import size_text
from pipelines.report.data import Table


def residency_notes(residency: dict[str, Any]) -> list[str]:
    """What the ledger can vouch for: the handoff's pointer check, the assembly, whether it sees copies at all."""
    lines = [
        f"handoff zero-copy (pointer check on every column): {residency.get('handoff_zero_copy')}",
        f"device-to-device assembly of the features: {bytes_text(residency.get('device_to_device_assembly_bytes'))}",
    ]
    if not residency.get("enabled"):
        source = residency.get("source", "")
        if source.startswith("not traced"):
            return [*lines, f"copies {source}"]
        return [*lines, "CPU backend: no device, so no host<->device copies to record"]
    calibration = residency.get("calibration") or {}
    if residency.get("sees_copies") is False:
        lines.append(
            f"**the ledger cannot see copies**: the profiler saw {bytes_text(calibration.get('seen_bytes'))} of "
            f"the {bytes_text(calibration.get('copied_bytes'))} of a known test copy, so the zeros below prove nothing "
            "(CUDA activity records unavailable: is GPU profiling restricted to administrators?)"
        )
    elif residency.get("sees_copies"):
        lines.append(f"the ledger saw its {bytes_text(calibration.get('copied_bytes'))} test copy: its counts are live")
    for stage, models in (residency.get("model_transfers") or {}).items():
        for whose, copies in models.items():
            lines.append(
                f"not budgeted, in {stage}: {whose} copied {bytes_text(copies.get('device_to_host_bytes', 0))} of "
                f"its model to the host ({copies.get('device_to_host_copies', 0):,} copies) and "
                f"{bytes_text(copies.get('host_to_device_bytes', 0))} to the device"
            )
    return lines


def residency_table(residency: dict[str, Any]) -> Table | None:
    """Copy bytes per stage and direction (GPU); None on the CPU, where nothing is recorded."""
    if not residency.get("enabled"):
        return None
    directions = ("host_to_device", "device_to_host", "device_to_device")
    rows = [
        [stage, *(bytes_text(row.get(f"{d}_bytes", 0)) for d in directions)]
        for stage, row in residency.get("stages", {}).items()
    ]
    return ["stage", "host->device", "device->host", "device->device"], rows


def bytes_text(count: int | None) -> str:
    """A byte count as people read it (exact below 1 KiB, so a zero stays a zero); "unknown" when not recorded."""
    return "unknown" if count is None else size_text(int(count))


def pointer_table(residency: dict[str, Any]) -> Table | None:
    """The handoff's pointer check per split: every tensor's data_ptr equals its column buffer's address."""
    splits = residency.get("handoff_splits")
    if not splits:
        return None
    rows = [[name, str(check["columns"]), "yes" if check["zero_copy"] else "NO"] for name, check in splits.items()]
    return ["handoff split", "columns checked", "every tensor aliases its column"], rows


def residency_tables(residency: dict[str, Any]) -> list[Table]:
    """The ledger per stage (GPU), then the handoff's pointer checks per split."""
    return [table for table in (residency_table(residency), pointer_table(residency)) if table is not None]
