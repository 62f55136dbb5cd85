"""RunConfig.check: the settings that are wrong whatever the dataset, refused before any work."""

from __future__ import annotations

import pytest

from pipelines.config import RunConfig
from pipelines.errors import ConfigError


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"task": "ranking"}, "--task must be one of classification, regression, found 'ranking'"),
        ({"sample": 1.5}, r"--sample is a fraction of rows in \(0, 1\], found 1.5"),
        ({"epochs": 0}, "--epochs must be at least 1, found 0"),
        ({"gpus": 0}, "--gpus must be at least 1, found 0"),
        ({"rmm_pool": True, "gpus": 2}, "--rmm-pool cannot be used with --gpus 2: .* CUDA IPC handles"),
    ],
)
def test_settings_wrong_whatever_the_dataset_are_config_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig(**settings).check()


@pytest.mark.parametrize("settings", [{"rmm_pool": True}, {"gpus": 2}, {"rmm_pool": True, "spill": True, "gpus": 1}])
def test_the_pool_or_several_training_processes_alone_are_accepted(settings):
    assert RunConfig(**settings).check().gpus == settings.get("gpus", 1)
