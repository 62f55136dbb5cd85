"""Copies that are a model's own: a library that keeps its model on the host (XGBoost's and cuML's trees) copies
what it builds there while it fits. The residency ledger (pipelines/runs/residency.py) budgets the data's copies;
a family wraps its library's fit in `model_transfers` so that the ledger records the copies made inside apart, as
the model's, and says what they were. Where no ledger traces (the CPU, a run without --strict-residency) the block
runs as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

Handler = Callable[[str], AbstractContextManager[None]]
_handler: list[Handler] = []  # the tracing ledger's, while it traces a stage (one at a time per process)


@contextmanager
def model_transfers(label: str) -> Iterator[None]:
    """The block's host<->device copies are the model's (`label` says whose), not the data's."""
    if not _handler:
        yield
        return
    with _handler[-1](label):
        yield


@contextmanager
def transfers_handled_by(handler: Handler) -> Iterator[None]:
    """`handler(label)` wraps each `model_transfers` block inside this one (the ledger's tracing of a stage)."""
    _handler.append(handler)
    try:
        yield
    finally:
        _handler.remove(handler)
