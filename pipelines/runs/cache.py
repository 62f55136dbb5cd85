"""Cross-run feature cache: a run's split feature frames as Parquet, keyed by exactly what produced them.

The key is the sha256 of: the input files' sha256, the settings that shape the features (KEY_SETTINGS) and the
code version, the source of every module that shapes features (`code_files`: the feature library, loading,
validation, the target, the splits, the parsing of a CSV's timestamps, the dataset's recipe, the backend's frame
hooks, whose hashing gives hashed category codes, and the backends, whose to_datetime parses timestamps). Training
code is not part of it. One changed byte in any of them gives a new key; the same inputs skip load, split and
features. Entries are written to a temporary folder and renamed into place: a
reader sees a whole entry or none.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pipelines
from pipelines.backend import Backend
from pipelines.data.target import TARGET, TargetInfo
from pipelines.datasets.base import Recipe
from pipelines.features.feature_set import FeatureSet
from pipelines.features.workflow import Workflow
from pipelines.files import writing

FORMAT_VERSION = 3  # 3: null_share.parquet, the share of nulls per loaded column
KEY_SETTINGS = ("dataset", "data", "target", "task", "time_column", "drop", "sample", "seed")
FEATURE_CODE = (
    "pipelines.features",
    "pipelines.datasets.base",
    "pipelines.data.load",
    "pipelines.data.validate",
    "pipelines.data.target",
    "pipelines.data.split",
    "pipelines.data.timestamps",
    "pipelines.backend.frames",
    "pipelines.backend.cpu",  # their to_datetime parses a CSV's timestamps
    "pipelines.backend.gpu",
    "pipelines.backend.timestamps",  # the shapes both parse, and the GPU's parse
    "pipelines.runs.cache",
)
META = "meta.json"
NULL_SHARE = "null_share.parquet"


def code_files(recipe: Recipe) -> list[Path]:
    """The source files whose code shapes `recipe`'s features (a package counts with all its modules)."""
    files: list[Path] = []
    for name in (*FEATURE_CODE, *recipe.code):
        spec = importlib.util.find_spec(name)
        if spec.submodule_search_locations:
            files += sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.py"))
        else:
            files.append(Path(spec.origin))
    return files


def code_version(recipe: Recipe) -> str:
    """sha256 over the package version and the source of `code_files(recipe)`."""
    digest = hashlib.sha256(pipelines.__version__.encode())
    for path in code_files(recipe):  # in a fixed order, so the file's name and source suffice
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cache_key(recipe: Recipe, inputs: dict[str, str]) -> str:
    """The key of the features that `recipe` would compute from files with these sha256s."""
    document = {
        "format": FORMAT_VERSION,
        "inputs": sorted(inputs.values()),
        "settings": {k: getattr(recipe.config, k) for k in KEY_SETTINGS},
        "code": code_version(recipe),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:32]


class FeatureCache:
    """Entries under `root/<key>/`: <split>.parquet (features + target), workflow.json, meta.json and
    null_share.parquet (the loaded columns' share of nulls, for the report)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key

    def load(self, key: str, backend: Backend) -> FeatureSet | None:
        """The cached features, or None on a miss."""
        entry = self.path(key)
        if not (entry / META).exists():
            return None
        meta = json.loads((entry / META).read_text())
        frames, targets = {}, {}
        for split in meta["rows"]:
            frame = backend.read_parquet([entry / f"{split}.parquet"])
            targets[split] = frame[TARGET]
            frames[split] = frame.drop(columns=[TARGET])
        workflow = Workflow.load(entry / "workflow.json")
        target = TargetInfo(**meta["target"])
        cache = {"key": key, "hit": True, "path": str(entry)}
        counts, notes, profile = meta["counts"], meta["notes"], meta.get("profile", {})
        shares = entry / NULL_SHARE
        null_share = backend.read_parquet([shares])[shares.stem] if shares.exists() else None
        inputs = meta["inputs"]
        return FeatureSet(
            workflow=workflow,
            frames=frames,
            targets=targets,
            target=target,
            inputs=inputs,
            counts=counts,
            notes=notes,
            cache=cache,
            profile=profile,
            null_share=null_share,
        )

    def store(self, key: str, features: FeatureSet) -> Path:
        """Write an entry atomically; a concurrent writer of the same key wins and ours is discarded."""
        entry = self.path(key)
        staging = self.root / f".tmp-{key}-{secrets.token_hex(3)}"
        staging.mkdir(parents=True)
        try:
            for split, frame in features.frames.items():
                with_target = frame.copy(deep=False)
                with_target[TARGET] = features.targets[split]
                with_target.to_parquet(staging / f"{split}.parquet")
            features.workflow.save(staging / "workflow.json")
            if features.null_share is not None:
                features.null_share.to_frame(Path(NULL_SHARE).stem).to_parquet(staging / NULL_SHARE)
            meta = {"target": asdict(features.target), "rows": features.rows}
            meta |= {"counts": features.counts, "notes": features.notes, "inputs": features.inputs}
            meta |= {"profile": features.profile}
            (staging / META).write_text(json.dumps(meta, indent=1, default=str))
            os.rename(staging, entry)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not (entry / META).exists():
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return entry


@dataclass
class Lookup:
    """What the cache-lookup stage found: the key for this run's features, and the features on a hit."""

    key: str
    folder: Path
    features: FeatureSet | None


# --- the stages (pipelines.stages lists them in order) ---------------------------------------------------------
def lookup_features(recipe: Recipe, backend: Backend) -> Lookup:
    """Hash the inputs; the cached features for them, when the run uses the cache and an entry exists."""
    cache = FeatureCache(recipe.config.cache_dir)
    key = cache_key(recipe, recipe.hash_inputs())
    found = cache.load(key, backend) if recipe.config.cache else None
    return Lookup(key, cache.path(key), found)


def store_features(features: FeatureSet, lookup: Lookup) -> FeatureSet:
    """Write the features to the cache for the next run on the same inputs, settings and code."""
    with writing("the feature cache", "--data-dir (or run with --no-cache)"):
        path = FeatureCache(lookup.folder.parent).store(lookup.key, features)
    features.cache = {"key": lookup.key, "hit": False, "path": str(path)}
    return features


def uncached(features: FeatureSet, lookup: Lookup) -> FeatureSet:
    """Features computed by a run that does not write the cache (--no-cache)."""
    features.cache = {"key": lookup.key, "hit": False, "path": None}
    return features
