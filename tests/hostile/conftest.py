"""What the hostile cases share: a small run trained in this process (their subject is what comes after it)."""

from __future__ import annotations

from pathlib import Path


def train_small(data: Path, target: str, *models: str, **settings: object) -> Path:
    """One epoch of the MLP and `models` on `data` (beside which the run and its data folder go), on the CPU, through
    the train flow (a Prefect harness must be active: the prefect_harness fixture); returns the run folder."""
    from flows.train import train
    from pipelines.config import RunConfig

    folder = data.parent
    config = RunConfig(
        data=str(data),
        target=target,
        epochs=1,
        models=list(models),
        output=str(folder / "runs"),
        data_dir=str(folder / "data"),
        backend="cpu",
        **settings,
    )
    return Path(train(config, progress=False))
