"""Cross-run feature cache: the split feature frames as Parquet, keyed by what produced them.

The key is the sha256 of: the input files' sha256, the settings that shape the features (target, task,
time column, dropped columns, sample, seed) and the code version (the source of the modules that load,
split and engineer features). One changed byte in any of them gives a new key, so the features are
recomputed; the same inputs skip load, split and features entirely. Entries are written to a temporary
folder and renamed into place: a reader sees a whole entry or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pipelines
from pipelines.backend import Backend
from pipelines.config import RunConfig
from pipelines.features.workflow import Workflow
from pipelines.target import TARGET, TargetInfo

FORMAT_VERSION = 1
KEY_SETTINGS = ("data", "target", "task", "time_column", "drop", "sample", "seed")
CODE = ("features", "flights.py", "target.py", "split.py", "load.py", "data.py", "validate.py", "job.py", "cache.py")
META = "meta.json"


def code_version() -> str:
    """sha256 over the source of every module that shapes the features, and the package version."""
    root = Path(pipelines.__file__).parent
    digest = hashlib.sha256(pipelines.__version__.encode())
    for name in CODE:
        for path in sorted((root / name).rglob("*.py")) if (root / name).is_dir() else [root / name]:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cache_key(config: RunConfig, inputs: dict[str, str]) -> str:
    """The key of the features that `config` would compute from files with these sha256s."""
    document = {
        "format": FORMAT_VERSION,
        "inputs": sorted(inputs.values()),
        "settings": {k: getattr(config, k) for k in KEY_SETTINGS},
        "code": code_version(),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:32]


class FeatureCache:
    """Entries under `root/<key>/`: <split>.parquet (features + target), workflow.json, meta.json."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key

    def load(self, key: str, backend: Backend) -> dict[str, Any] | None:
        """The cached entry as {"workflow", "frames", "targets", "meta"}, or None on a miss."""
        entry = self.path(key)
        if not (entry / META).exists():
            return None
        meta = json.loads((entry / META).read_text())
        frames, targets = {}, {}
        for split in meta["rows"]:
            frame = backend.read_parquet([entry / f"{split}.parquet"])
            targets[split] = frame[TARGET]
            frames[split] = frame.drop(columns=[TARGET])
        meta["target"] = TargetInfo(**meta["target"])
        return {"workflow": Workflow.load(entry / "workflow.json"), "frames": frames, "targets": targets, "meta": meta}

    def store(
        self, key: str, workflow: Workflow, frames: dict[str, Any], targets: dict[str, Any], meta: dict[str, Any]
    ) -> Path:
        """Write an entry atomically; a concurrent writer of the same key wins and ours is discarded."""
        entry = self.path(key)
        staging = self.root / f".tmp-{key}-{secrets.token_hex(3)}"
        staging.mkdir(parents=True)
        try:
            for split, frame in frames.items():
                with_target = frame.copy(deep=False)
                with_target[TARGET] = targets[split]
                with_target.to_parquet(staging / f"{split}.parquet")
            workflow.save(staging / "workflow.json")
            document = {**meta, "target": asdict(meta["target"]), "rows": {s: len(f) for s, f in frames.items()}}
            (staging / META).write_text(json.dumps(document, indent=1, default=str))
            os.rename(staging, entry)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not (entry / META).exists():
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return entry
