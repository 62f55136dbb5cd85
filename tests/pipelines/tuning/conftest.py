"""A small classification feature set and its handoff, for the tuning tests."""

from __future__ import annotations

import pytest

from pipelines.training.handoff import hand_off
from tests.pipelines.models.test_families import _features


@pytest.fixture
def prepared(cpu):
    features = _features("classification", cpu)
    features.cache = {"key": "features-a"}
    return features, hand_off(features, cpu)
