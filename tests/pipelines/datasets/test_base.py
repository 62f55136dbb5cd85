"""job helpers that the flows and the benchmarks share."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.config import RunConfig
from pipelines.job import _sample


def test_sample_keeps_seeded_host_drawn_rows_in_order():
    frame = pd.DataFrame({"a": np.arange(1000)}, index=np.arange(1000) * 7)
    sample = _sample(frame, RunConfig(sample=0.1, seed=3))
    assert len(sample) == 100 and sample["a"].is_monotonic_increasing
    assert list(sample.index) == list(range(100))
    # The positions come from NumPy alone, so cuDF keeps the very same rows (tests/test_gpu.py checks it there).
    expected = np.sort(np.random.default_rng(3).choice(1000, size=100, replace=False))
    assert sample["a"].tolist() == expected.tolist()
    assert not sample.equals(_sample(frame, RunConfig(sample=0.1, seed=4)))
    assert _sample(frame, RunConfig(sample=None)) is frame and _sample(frame, RunConfig(sample=1.0)) is frame
    assert len(_sample(frame, RunConfig(sample=0.0001))) == 1
