"""RunConfig: every setting of a run, one name each from the command line to the manifest.

The flows take it as their one typed parameter (Prefect validates a dict into it for deployments), the CLI
builds it from its options, the manifest and config.json store `as_dict()`. Checks that depend on the dataset
(does the target exist, may the task change) belong to the dataset's recipe (pipelines/datasets).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError

TASKS = ("classification", "regression")
# Names that older run directories used in config.json, and what they are called now.
RENAMED = {"baselines": "models"}
# --cluster: no cluster, a Dask LocalCluster, a dask-cuda LocalCUDACluster (or a scheduler's address)
KINDS = ("none", "local", "local-cuda")


@dataclass(kw_only=True)
class RunConfig:
    """A run of the train pipeline. `dataset=None` picks "table" when `data` is given, else "flights"."""

    dataset: str | None = None  # a recipe of pipelines.datasets: "flights" (the default job), "table" (your own)
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
    epochs: int = 3
    models: list[str] | None = None  # baselines to fit (None: every baseline of the task); the MLP always trains
    cache: bool = True  # reuse features computed by an earlier run on the same inputs, settings and code
    strict_residency: bool = False  # GPU: fail if data went device-to-host between load and end of training
    rmm_pool: bool = False  # GPU: one RMM pool shared by cuDF, CuPy and torch
    spill: bool = False  # GPU: cuDF spills to host memory when the device runs short
    # Dask: none (this process), local, local-cuda, or a scheduler's address (pipelines.data.placement)
    cluster: str = "none"
    n_workers: int | None = None  # --cluster local / local-cuda: workers to start (default: 2 / one per GPU)
    partition_size: str = "256MiB"  # Dask: the size of one partition of the data (read blocks, repartitions)
    gpus: int = 1  # processes the MLP trains across (DistributedDataParallel): one per GPU, or gloo on the CPU
    params: str | None = None  # a tune folder (devicepipe tune): its families train with the best settings found
    # MLflow tracking (pipelines.tracking): a tracking URI, or "local" (sqlite:///mlflow.db beside the output
    # folder); None: on only when MLFLOW_TRACKING_URI is set. `experiment` None: the dataset's name.
    track: str | None = None
    experiment: str | None = None
    log_model: str | None = None  # the family logged as the run's MLflow model (None: the best on validation)
    register: str | None = None  # a registered model's name: the logged model becomes a version of it

    def __post_init__(self) -> None:
        if self.dataset is None:
            self.dataset = "table" if self.data is not None else "flights"
        self.drop = list(self.drop or [])
        self.models = None if self.models is None else list(self.models)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> RunConfig:
        """A config from `as_dict()` output, older run directories' names included."""
        known = {f.name for f in fields(cls)}
        settings = {RENAMED.get(name, name): value for name, value in document.items()}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(f"Unknown run settings {unknown}: expected some of {sorted(known)}.")
        return cls(**settings)

    def check(self) -> RunConfig:
        """Settings that are wrong whatever the dataset; the recipe checks the rest (recipe_for(config).check())."""
        if self.task not in TASKS:
            raise ConfigError(f"--task must be one of {', '.join(TASKS)}, found {self.task!r}.")
        if self.sample is not None and not 0 < self.sample <= 1:
            raise ConfigError(f"--sample is a fraction of rows in (0, 1], found {self.sample}.")
        check_counts({"--epochs": self.epochs, "--gpus": self.gpus})
        if self.rmm_pool and self.gpus > 1:
            raise ConfigError(
                f"--rmm-pool cannot be used with --gpus {self.gpus}: the training processes receive their shards "
                "as CUDA IPC handles, which torch cannot make for memory from RMM's pool. Leave out --rmm-pool "
                "(each process then uses torch's own caching allocator), or train with --gpus 1."
            )
        check_cluster(self)
        return self

    @property
    def cache_dir(self) -> Path:
        return Path(self.data_dir) / "cache"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_counts(counts: dict[str, int]) -> None:
    """A ConfigError for the first setting below 1, by the name given (an option's, "--epochs", where it has one).
    The run's settings and the training's (pipelines.training.types.TrainConfig) are checked here alike."""
    for name, value in counts.items():
        if value < 1:
            raise ConfigError(f"{name} must be at least 1, found {value}.")


# --- the cluster settings (pipelines.cluster.client opens the cluster they describe) ---------------------------
@dataclass(frozen=True)
class ClusterSpec:
    """What --cluster asked for: a kind, or an address; --n-workers for the local kinds."""

    kind: str  # "none" | "local" | "local-cuda" | "address"
    address: str | None = None
    n_workers: int | None = None


def check_cluster(config: Any) -> ClusterSpec:
    """The cluster settings of a RunConfig, checked (ConfigError): --cluster, --n-workers, --partition-size, and
    a cluster kind the --backend asked for can use. Returns the spec; nothing is started."""
    spec = parse_cluster(config.cluster, config.n_workers)
    partition_bytes(config.partition_size)
    if spec.kind != "none":
        connect_timeout()
    check_backend(spec, config.backend)
    return spec


def check_backend(spec: ClusterSpec, backend: str) -> None:
    """A ConfigError when the cluster's workers cannot hold the backend's frames: cuDF on CPU-only workers, or
    pandas on GPU workers. `backend` is "cpu", "gpu" or "auto" (checked again once it is chosen)."""
    if spec.kind == "local" and backend == "gpu":
        raise ConfigError(
            "--cluster local starts CPU workers, which cannot hold the GPU backend's cuDF frames: use --cluster "
            "local-cuda (one worker per GPU) or --backend cpu."
        )
    if spec.kind == "local-cuda" and backend == "cpu":
        raise ConfigError("--cluster local-cuda starts GPU workers: use it with --backend gpu, or --cluster local.")


def partition_bytes(text: str) -> int:
    """--partition-size as bytes ("256MiB", "1GB", "64000000"); a ConfigError for anything else."""
    from dask.utils import parse_bytes

    try:
        size = int(parse_bytes(text))
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"--partition-size expects a size such as 256MiB, 1GB or 100000000 (bytes), found {text!r}."
        ) from exc
    if size < 2**20:
        raise ConfigError(f"--partition-size must be at least 1MiB, found {text!r} ({size} bytes).")
    return size


def parse_cluster(text: str, n_workers: int | None = None) -> ClusterSpec:
    """`--cluster` and `--n-workers` as a ClusterSpec; a ConfigError for anything else."""
    if n_workers is not None and n_workers < 1:
        raise ConfigError(f"--n-workers must be 1 or more, found {n_workers}.")
    if text in KINDS:
        if text == "none" and n_workers is not None:
            raise ConfigError("--n-workers needs --cluster local or local-cuda; --cluster none runs in this process.")
        return ClusterSpec(text, n_workers=n_workers)
    if "://" in text and text.split("://", 1)[1]:
        if n_workers is not None:
            raise ConfigError(f"--n-workers sets up a local cluster; the scheduler at {text} has its own workers.")
        return ClusterSpec("address", address=text)
    raise ConfigError(
        f"--cluster expects none, local, local-cuda or a scheduler address such as tcp://host:8786, found {text!r}."
    )


def connect_timeout() -> float:
    """Seconds to reach a scheduler, and for a local cluster's workers to come up: Dask's own setting
    distributed.comm.timeouts.connect (30 s unless the user's Dask config or environment says otherwise); a
    ConfigError for a value that is not a duration."""
    import dask
    import distributed  # noqa: F401 (its defaults are in dask's config once it is imported)
    from dask.utils import parse_timedelta

    value = dask.config.get("distributed.comm.timeouts.connect")
    try:
        return float(parse_timedelta(value, default="seconds"))
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"Dask's distributed.comm.timeouts.connect (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT) must be a duration "
            f"such as 30s or 2m, found {value!r}: fix it in your Dask config or environment, or unset it."
        ) from exc


def describe_data(config: Any) -> str:
    """What a run's or a tune's features are made from, in words (a RunConfig's data settings): a tune records it,
    and a run given the latest tune's settings compares it with its own."""
    parts = [f"dataset {config.dataset}", f"data {config.data}" if config.data else "", f"seed {config.seed}"]
    parts += [f"target {config.target}" if config.target else "", f"sample {config.sample}" if config.sample else ""]
    return ", ".join(part for part in parts if part)
