"""Training checkpoints for the MLP trainer: the state one run carries from epoch to epoch, written atomically
after every epoch and read back on resume, so a resumed run equals an uninterrupted one with the same seed.

A checkpoint is one `torch.save` document (format `CHECKPOINT_FORMAT`, loaded with `weights_only=True`):

- "format", "config": the format number and the training settings; a resume with any other is refused
- "model", "optimizer", "scheduler": the state dicts of the training parts
- "rng_cpu", "rng_cuda": the global random number generator states (dropout draws from them); a distributed
  run adds "rng_ranks", the states of every process in rank order (rank 0's are also the top-level ones)
- "epoch", "step", "history": where the run stands (`TrainingState`)
- "early_stopping": the best epoch, its metric and weights, the epochs waited, whether it stopped
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from pipelines.errors import ConfigError
from pipelines.files import atomic_path, writing
from pipelines.training.early_stopping import EarlyStopping
from pipelines.training.types import TrainConfig

# 1: also held a (disabled) GradScaler and the early-stopping fields at the top level.
# 2: no GradScaler; the early-stopping state under "early_stopping".
CHECKPOINT_FORMAT = 2


class Stateful(Protocol):
    """A training part a checkpoint saves: the model, the optimizer, the learning rate schedule."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any]) -> Any: ...


@dataclass
class TrainingState:
    """Where a training run stands between epochs, besides the weights and the optimizer and schedule states."""

    early_stopping: EarlyStopping
    epoch: int = 0  # the next epoch to run
    step: int = 0  # optimizer steps taken so far, over all epochs
    history: list[dict[str, float]] = field(default_factory=list)


def save(
    path: Path,
    parts: Mapping[str, Stateful],
    state: TrainingState,
    config: TrainConfig,
    rng: list[dict[str, Any]] | None = None,
) -> None:
    """Write the checkpoint atomically: a reader (or a resume after a kill) sees the old one or the new one.

    `rng`: the random states of every process of a distributed run, in rank order (default: this process's)."""
    rng = rng or [rng_states()]
    document = {
        "format": CHECKPOINT_FORMAT,
        "config": plain_config(config),
        **{name: part.state_dict() for name, part in parts.items()},
        **rng[0],
        **({"rng_ranks": rng} if len(rng) > 1 else {}),
        "epoch": state.epoch,
        "step": state.step,
        "history": state.history,
        "early_stopping": state.early_stopping.state_dict(),
    }
    with writing("the training checkpoint", "--output"), atomic_path(path) as tmp:
        torch.save(document, tmp)


def restore(
    path: Path,
    parts: Mapping[str, Stateful],
    state: TrainingState,
    config: TrainConfig,
    device: torch.device,
    rank: int = 0,
) -> None:
    """Load the checkpoint at `path` into `parts`, `state` and the RNGs (those of process `rank` in a distributed
    run); refuse one of another format or config."""
    document = torch.load(path, map_location=device, weights_only=True)
    mismatch = _mismatch(document, config)
    if mismatch is not None:
        raise ConfigError(
            f"The checkpoint {path} was written with {mismatch}; "
            "resume with the same settings and trainer version, or start a new run."
        )
    for name, part in parts.items():
        part.load_state_dict(document[name])
    set_rng_states(document["rng_ranks"][rank] if "rng_ranks" in document else document)
    state.epoch, state.step, state.history = document["epoch"], document["step"], document["history"]
    state.early_stopping.load_state_dict(document["early_stopping"])


def _mismatch(document: dict[str, Any], config: TrainConfig) -> str | None:
    """Why the checkpoint cannot be resumed with `config` by this trainer, or None when it can."""
    found = document.get("format")
    if found != CHECKPOINT_FORMAT:
        age = "an older" if isinstance(found, int) and found < CHECKPOINT_FORMAT else "another"
        return (
            f"other training settings: {age} checkpoint format ({found}; this trainer reads format "
            f"{CHECKPOINT_FORMAT} only)"
        )
    # A setting added since the checkpoint was written took its default then (e.g. gpus=1).
    saved = {**plain_config(type(config)()), **document.get("config", {})}
    if saved != plain_config(config):
        return f"other training settings ({document.get('config')})"
    return None


def plain_config(config: TrainConfig) -> dict[str, Any]:
    """The training settings as plain values (tuples as lists), as a checkpoint stores them."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def rng_states() -> dict[str, Any]:
    """The global CPU and (where there is CUDA) per-device CUDA generator states."""
    return {
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_states(document: Mapping[str, Any]) -> None:
    """Restore what `rng_states` returned (the states may have been loaded onto another device)."""
    torch.set_rng_state(document["rng_cpu"].cpu())
    if document["rng_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in document["rng_cuda"]])
