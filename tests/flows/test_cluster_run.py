"""`devicepipe run --cluster`: bad cluster settings exit 2 before anything is written; a run on a real
LocalCluster and on a running `dask scheduler` with workers fits XGBoost through its Dask interface and scores
like the same run in one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import write_table
from tests.dask_cluster import free_port
from tests.flows.cli.test_cli import assert_user_error, devicepipe

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("options", "phrases"),
    [
        (["--cluster", "lokal"], ["expects none, local, local-cuda or a scheduler address", "'lokal'"]),
        (["--cluster", "local", "--partition-size", "big"], ["--partition-size expects a size", "'big'"]),
        (["--cluster", "local", "--partition-size", "10kB"], ["at least 1MiB"]),
        (["--n-workers", "2"], ["--n-workers needs --cluster local"]),
        (["--cluster", "local-cuda", "--backend", "cpu"], ["use it with --backend gpu"]),
        (["--cluster", "local", "--backend", "gpu"], ["cannot hold the GPU backend's cuDF frames"]),
    ],
)
def test_bad_cluster_settings_exit_2_and_write_nothing(tmp_path, options, phrases):
    table = write_table(tmp_path / "t.parquet", 200)
    result = devicepipe("run", "--data", str(table), "--target", "y", *options, cwd=tmp_path)
    assert_user_error(result, *phrases)
    assert not (tmp_path / "runs").exists()


def test_an_unreachable_scheduler_exits_2_and_leaves_no_run(tmp_path, monkeypatch):
    """Within Dask's own connect timeout (30 s unless set; 5 s here, set the way a user would)."""
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "5s")
    table = write_table(tmp_path / "t.parquet", 200)
    address = f"tcp://127.0.0.1:{free_port()}"
    result = devicepipe("run", "--data", str(table), "--target", "y", "--cluster", address, cwd=tmp_path)
    assert_user_error(result, f"Could not reach the Dask scheduler at {address} within 5 s")
    assert not [p for p in (tmp_path / "runs").glob("*") if p.name != ".lock"]


@pytest.fixture(scope="module")
def alone(tmp_path_factory) -> tuple[Path, dict]:
    """A 6,000-row table and its run in one process, which the cluster runs of the same table are compared with."""
    folder = tmp_path_factory.mktemp("alone")
    table = write_table(folder / "t.parquet", 6000)
    return table, _run(folder, table, "none")


def test_xgboost_on_a_local_cluster_scores_like_one_process(tmp_path, alone):
    table, alone = alone
    spread = _run(tmp_path, table, "local", "--n-workers", "2", "--partition-size", "1MiB")
    assert spread["config"]["cluster"] == "local" and spread["config"]["n_workers"] == 2
    assert spread["training"]["dask_workers"] == 2 and alone["training"]["dask_workers"] is None
    # Distributed hist builds its bins from merged quantile sketches: close to, not equal to, one process.
    assert spread["auc"] == pytest.approx(alone["auc"], abs=0.02)
    assert "Dask cluster: tcp://127.0.0.1:" in spread["log"] and "2 workers, 2 threads" in spread["log"]
    # The features were fitted on the workers, to the same values: the same linear model, to the last bit.
    assert any("fitted on 2 Dask workers" in note for note in spread["notes"])
    assert spread["linear"] == alone["linear"]
    # scikit-learn has no Dask estimators: the logistic regression fits in the run's process, and says so.
    assert spread["linear_training"]["dask_workers"] is None
    assert any("logistic_regression: UserWarning: fitted in the run's process" in n for n in spread["notes"])


def test_xgboost_on_a_running_scheduler(tmp_path, scheduler, alone):
    table, alone = alone
    spread = _run(tmp_path, table, scheduler)
    assert spread["config"]["cluster"] == scheduler and spread["training"]["dask_workers"] == 2
    assert spread["auc"] == pytest.approx(alone["auc"], abs=0.02)
    assert f"Dask cluster: {scheduler}: 2 workers" in spread["log"]
    assert spread["linear"] == alone["linear"]


# With --cluster, each training process fetches its own rows from the workers that hold the features.
@pytest.mark.parametrize(("cluster", "shards_from"), [("none", "this_process"), ("local", "dask_workers")])
def test_the_mlp_across_two_processes_from_the_command_line(tmp_path, cluster, shards_from):
    table = write_table(tmp_path / "t.parquet", 3000)
    args = ["--data", str(table), "--target", "y", "--model", "xgboost", "--epochs", "2", "--no-progress", "--no-cache"]
    result = devicepipe("run", *args, "--gpus", "2", "--cluster", cluster, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    manifest = json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())
    assert manifest["config"]["gpus"] == 2 and manifest["training"]["mlp"]["processes"] == 2
    assert manifest["training"]["mlp"]["shards_from"] == shards_from
    said = "--gpus 2 on the CPU: the MLP trained in 2 processes (gloo)"
    assert any(said in note for note in manifest["notes"]) and said in result.stderr
    assert len(manifest["training"]["mlp"]["history"]) >= 1
    assert "leaked semaphore" not in result.stderr  # the processes clean up what multiprocessing registered


def test_the_default_job_read_in_partitions_on_a_local_cluster_scores_like_one_process(tmp_path, flights_dir):
    """The flights read in partitions on the workers (3 files of 2,000 rows), joined, split and featured there:
    the same linear model as in one process, XGBoost within 0.02, and each worker's peak memory recorded."""
    from pipelines.datasets.synth import synthesize

    synthesize(tmp_path / "synth", 6000, seed=1, data_dir=flights_dir, partition_rows=2000, progress=False)
    data = ["--dataset", "flights", "--data", str(tmp_path / "synth")]
    alone = _run(tmp_path, data, "none")
    spread = _run(tmp_path, data, "local", "--partition-size", "1MiB")
    where = "(3 partitions: the splits' partitions, on the workers since the load)"
    assert any(where in note for note in spread["notes"])
    assert spread["linear"] == alone["linear"]
    # About 1,000 test flights: the AUC's standard error is about 0.015, and distributed hist bins differently.
    assert spread["auc"] == pytest.approx(alone["auc"], abs=0.03)
    assert alone["cluster"] is None and spread["cluster"]["workers"] == 2
    peaks = spread["cluster"]["worker_peak_bytes"]
    assert len(peaks) == 2 and all(2**26 < peak < 2**33 for peak in peaks.values())
    assert "Dask workers' peak memory: 2 workers:" in spread["log"]


def test_a_part_a_worker_cannot_read_exits_2_and_leaves_no_run(tmp_path, flights_dir):
    """The footers are whole (the schemas check out) but one part's first page header is damaged: the worker
    that reads it fails, and the run is exit 2 naming the file and its rows, with nothing of the run kept."""
    from pipelines.datasets.synth import synthesize

    synthesize(tmp_path / "synth", 4000, seed=1, data_dir=flights_dir, partition_rows=2000, progress=False)
    damaged = tmp_path / "synth" / "flights" / "part-00001.parquet"
    data = bytearray(damaged.read_bytes())
    data[4:64] = bytes(b ^ 0xFF for b in data[4:64])
    damaged.write_bytes(bytes(data))
    args = ["--dataset", "flights", "--data", str(tmp_path / "synth"), "--cluster", "local", "--no-progress"]
    result = devicepipe("run", *args, "--output", str(tmp_path / "runs"), cwd=tmp_path)
    assert_user_error(result, "could not read rows 2,000 to 3,999", "part-00001.parquet", "the same path")
    assert not [p for p in (tmp_path / "runs").rglob("*") if p.is_file() and p.name != ".lock"]


@pytest.mark.gpu
@pytest.mark.rapids
def test_xgboost_on_a_local_cuda_cluster_scores_like_one_gpu(tmp_path, gpu):
    """One dask-cuda worker per GPU (an RMM pool, cuDF spilling): the cuDF rows read on it, XGBoost on cuda, the
    logistic regression through cuML's Dask estimator on every training row."""
    table = write_table(tmp_path / "t.parquet", 6000)
    alone = _run(tmp_path, table, "none", "--backend", "gpu")
    spread = _run(tmp_path, table, "local-cuda", "--backend", "gpu")
    assert spread["training"]["dask_workers"] >= 1
    assert spread["auc"] == pytest.approx(alone["auc"], abs=0.02)
    assert spread["linear_training"]["dask_workers"] >= 1 and alone["linear_training"]["dask_workers"] is None
    assert spread["linear"]["auc"] == pytest.approx(alone["linear"]["auc"], abs=0.01)
    assert not any("fitted in the run's process" in note for note in spread["notes"])


@pytest.mark.gpu
@pytest.mark.rapids
def test_nccl_processes_fetch_their_rows_from_a_local_cuda_cluster(tmp_path, gpu):
    """--gpus 2 on --cluster local-cuda: each NCCL process fetches its shard of the cuDF features from the workers."""
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip(f"NCCL across processes needs 2 CUDA devices, found {torch.cuda.device_count()}")
    table = write_table(tmp_path / "t.parquet", 6000)
    args = ["--data", str(table), "--target", "y", "--model", "xgboost", "--epochs", "2", "--no-progress", "--no-cache"]
    result = devicepipe("run", *args, "--backend", "gpu", "--cluster", "local-cuda", "--gpus", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    mlp = json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())["training"]["mlp"]
    assert mlp["processes"] == 2 and mlp["shards_from"] == "dask_workers"


def _run(tmp_path: Path, table: Path | list[str], cluster: str, *options: str) -> dict:
    """A run of `table` (a Parquet file with target y, or the data options themselves) on `cluster`."""
    output = tmp_path / f"runs-{len(list(tmp_path.glob('runs-*')))}"
    data = table if isinstance(table, list) else ["--data", str(table), "--target", "y"]
    args = [*data, "--model", "xgboost", "--model", "logistic_regression"]
    args += ["--epochs", "1", "--no-progress"]
    args += ["--no-cache", "--output", str(output), "--cluster", cluster, *options]
    result = devicepipe("run", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (run,) = [p for p in output.iterdir() if p.is_dir() and not p.name.startswith(".") and not p.is_symlink()]
    metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    training = json.loads((run / "manifest.json").read_text())["training"]["xgboost"]
    auc = metrics["models"]["xgboost"]["test"]["auc"]
    linear = metrics["models"]["logistic_regression"]["test"]
    manifest = json.loads((run / "manifest.json").read_text())
    return {
        "auc": auc,
        "linear": linear,
        "config": config,
        "training": training,
        "linear_training": manifest["training"]["logistic_regression"],
        "log": result.stderr,
        "notes": manifest["notes"],
        "cluster": manifest["cluster"],
    }
