"""The MLP (embeddings for the categorical codes, pipelines.training.network) trained on the handoff's device tensors.

Training is pipelines.training.train (early stopping, checkpoints and resume; across `FitOptions.gpus` processes with
DistributedDataParallel when above 1; with --cluster, those processes fetch their own training rows from the Dask
workers that hold them, pipelines.training.distributed.from_cluster); this adapter wires it to the pipeline.
Saved as safetensors weights plus a JSON of the architecture and the target's scale; new rows to score are
handed to torch zero-copy, as in training.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from pipelines.backend import Backend
from pipelines.features.workflow import Workflow
from pipelines.files import atomic_path, write_text_atomic
from pipelines.models.base import FitOptions, ModelAdapter, Split
from pipelines.training.distributed.from_cluster import Columns, published
from pipelines.training.handoff import device_data
from pipelines.training.importance import permutation_importance
from pipelines.training.loop import predict, target_scale
from pipelines.training.network import TabularMLP
from pipelines.training.train import train_mlp
from pipelines.training.types import TrainConfig, TrainResult

# TrainConfig's fields a trial draws, beside `hidden`
TUNED = ("dropout", "lr", "weight_decay", "batch_size", "embedding_scale", "embedding_max")


class MLP(ModelAdapter):
    name = "mlp"
    stage = "train"
    files = ("mlp.safetensors", "mlp.json")
    importance_method = "permutation"

    def __init__(self, task: str, backend: Backend, workflow: Workflow, result: TrainResult | None = None):
        super().__init__(task, backend, workflow)
        self.result = result
        self.shards_from = "this_process"  # where the training processes took their rows from

    @classmethod
    def defaults(cls, task: str) -> dict[str, Any]:
        return {name: getattr(TrainConfig, name) for name in TUNED} | {"hidden": list(TrainConfig.hidden)}

    @classmethod
    def search_space(cls, trial: Any, task: str) -> dict[str, Any]:
        width, depth = trial.suggest_categorical("width", [64, 128, 256, 512]), trial.suggest_int("depth", 1, 3)
        return {
            "hidden": [max(16, width >> layer) for layer in range(depth)],  # halving widths
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [512, 1024, 2048, 4096]),
            "embedding_scale": trial.suggest_categorical("embedding_scale", [0.5, 1.0, 2.0]),
            "embedding_max": trial.suggest_categorical("embedding_max", [8, 16, 32, 64]),
        }

    @classmethod
    def default_draw(cls, task: str) -> dict[str, Any]:
        hidden = TrainConfig.hidden
        rest = {key: value for key, value in cls.defaults(task).items() if key != "hidden"}
        return {"width": hidden[0], "depth": len(hidden), **rest}

    def fit(self, train: Split, valid: Split, options: FitOptions) -> None:
        settings = dict(self.check_settings(self.task, options.settings))
        if "hidden" in settings:
            settings["hidden"] = tuple(settings["hidden"])
        config = TrainConfig(epochs=options.epochs, seed=options.seed, gpus=options.gpus, **settings)
        # the per-epoch hook runs in every training process: only a module-level function crosses to them
        on_epoch_end = options.on_step if options.gpus <= 1 else None
        with self._training_rows(train, options, config) as rows:
            self.result = train_mlp(
                rows,
                valid.tensors,
                self.cardinalities(self.workflow),
                self.task,
                config,
                progress=options.progress,
                checkpoint=options.checkpoint,
                on_epoch_end=on_epoch_end,
            )

    @contextlib.contextmanager
    def _training_rows(self, train: Split, options: FitOptions, config: TrainConfig) -> Iterator[Any]:
        """The handoff's tensors; or, across processes on a cluster whose workers hold the training rows, those
        rows published there until the processes, each fetching its own shard, are done
        (pipelines.training.distributed.from_cluster)."""
        if config.gpus <= 1 or options.placement.client is None or train.on_workers is None:
            yield train.tensors
            return
        self.shards_from = "dask_workers"
        columns = Columns(list(self.workflow.numeric_), list(self.workflow.categorical_))
        scale = target_scale(train.tensors.y, self.task)
        with published(options.placement.client, train.on_workers, columns, self.backend, scale) as rows:
            yield rows

    @classmethod
    def warm_up(cls, task: str, backend: Backend) -> None:
        torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])  # torch imports its compiler at the first optimizer

    def predict(self, split: Split) -> torch.Tensor:
        data = split.tensors
        if data is None:
            data, _, _ = device_data(split.frame, self.workflow, self.backend)
        result = self.result
        return predict(result.model, data, self.task, result.target_mean, result.target_std)

    def importance(self, split: Split, rows: int, seed: int) -> dict[str, float]:
        """Permutation importance on the split's device tensors (pipelines.training.importance)."""
        result = self.result

        def scores(data: Any) -> torch.Tensor:
            return predict(result.model, data, self.task, result.target_mean, result.target_std)

        names = (self.workflow.numeric_, self.workflow.categorical_)
        return permutation_importance(scores, split.tensors, names, self.task, rows, seed)

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        result = self.result
        weights = {k: v.detach().contiguous().cpu() for k, v in result.model.state_dict().items()}
        with atomic_path(folder / "mlp.safetensors") as tmp:
            save_file(weights, str(tmp))
        spec = {
            "n_numeric": len(self.workflow.numeric_),
            "cardinalities": self.cardinalities(self.workflow),
            "hidden": [layer.out_features for layer in result.model.body if hasattr(layer, "out_features")][:-1],
            "dropout": result.config.dropout,
            "norm": result.config.norm,
            "embedding_dims": [embedding.embedding_dim for embedding in result.model.embeddings],
            "target_mean": result.target_mean,
            "target_std": result.target_std,
            "best_epoch": result.best_epoch,
        }
        write_text_atomic(folder / "mlp.json", json.dumps(spec, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path, task: str, backend: Backend, workflow: Workflow) -> MLP:
        from safetensors.torch import load_file

        spec = json.loads((folder / "mlp.json").read_text())
        shape = (spec["n_numeric"], spec["cardinalities"], tuple(spec["hidden"]), spec["dropout"], spec["norm"])
        model = TabularMLP(*shape, spec.get("embedding_dims"))  # bundles before embedding sizes were tuned: the rule
        model.load_state_dict(load_file(folder / "mlp.safetensors", device=str(backend.torch_device)))
        model.to(backend.torch_device)
        config = TrainConfig(hidden=tuple(spec["hidden"]), dropout=spec["dropout"], norm=spec["norm"])
        scale = {"target_mean": spec["target_mean"], "target_std": spec["target_std"]}
        result = TrainResult(
            model=model, best_epoch=spec["best_epoch"], best_metric=float("nan"), config=config, **scale
        )
        return cls(task, backend, workflow, result)

    @staticmethod
    def cardinalities(workflow: Workflow) -> list[int]:
        return [workflow.cardinalities_[c] for c in workflow.categorical_]

    def details(self) -> dict[str, Any]:
        result = self.result
        return {
            "best_epoch": result.best_epoch,
            "resumed_from_epoch": result.resumed_from_epoch,
            "processes": result.config.gpus,  # DistributedDataParallel across this many (1: this process)
            "shards_from": self.shards_from,  # "dask_workers": each process fetched its own rows there
            "history": result.history,
        }

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.result.history
