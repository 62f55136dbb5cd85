"""The choices of the CLI's options."""

from enum import StrEnum


class Task(StrEnum):
    classification = "classification"
    regression = "regression"


class BackendChoice(StrEnum):
    auto = "auto"
    cpu = "cpu"
    gpu = "gpu"
