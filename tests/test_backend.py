"""Backend selection and the rule that only pipelines/backend.py imports RAPIDS."""

from __future__ import annotations

import ast

import pytest
import torch

from pipelines import backend as backends
from pipelines.errors import BackendUnavailable, ConfigError
from tests.conftest import ROOT

RAPIDS = {"cudf", "cupy", "cuml", "dask_cudf", "dask_cuda", "rmm", "cupyx"}


def _imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_only_backend_imports_rapids():
    offenders = {}
    for folder in ("pipelines", "flows", "notebooks", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "pipelines" / "backend.py":
                continue
            leaked = _imported_modules(path) & RAPIDS
            if leaked:
                offenders[str(path.relative_to(ROOT))] = sorted(leaked)
    assert offenders == {}


def test_backend_module_does_import_rapids():
    """The scan above sees the imports it looks for (it would catch a leak)."""
    assert {"cudf", "cupy"} <= _imported_modules(ROOT / "pipelines" / "backend.py")


def test_pipelines_never_import_prefect():
    offenders = [str(p) for p in (ROOT / "pipelines").rglob("*.py") if "prefect" in _imported_modules(p)]
    assert offenders == []


def test_cpu_is_explicit(monkeypatch):
    monkeypatch.setenv("DEVICEPIPE_BACKEND", "gpu")
    chosen = backends.select("cpu")
    assert chosen.name == "cpu" and chosen.torch_device == torch.device("cpu")
    assert chosen.estimator_family == "sklearn" and chosen.xgboost_device == "cpu"


def test_env_var_replaces_auto(monkeypatch):
    monkeypatch.setenv("DEVICEPIPE_BACKEND", "cpu")
    assert backends.select("auto").name == "cpu"
    monkeypatch.setenv("DEVICEPIPE_BACKEND", "tpu")
    with pytest.raises(ConfigError, match="tpu"):
        backends.select("auto")


def test_hidden_devices_mean_no_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert "CUDA_VISIBLE_DEVICES" in backends.gpu_unusable_reason()
    monkeypatch.delenv("DEVICEPIPE_BACKEND", raising=False)
    assert backends.select("auto").name == "cpu"
    with pytest.raises(BackendUnavailable, match="--backend cpu"):
        backends.select("gpu")


def test_gpu_without_a_device_is_a_clear_error():
    reason = backends.gpu_unusable_reason()
    if reason is None:
        pytest.skip("a GPU is usable here")
    with pytest.raises(BackendUnavailable, match="no usable GPU"):
        backends.select("gpu")
    assert backends.select("auto").name == "cpu"


def test_estimator_resolves_the_family_class(cpu):
    model = cpu.estimator({"sklearn": "sklearn.ensemble.RandomForestClassifier", "cuml": "cuml.x.Y"}, n_estimators=3)
    assert type(model).__name__ == "RandomForestClassifier"
    assert model.n_jobs == -1 and model.n_estimators == 3


@pytest.mark.gpu
@pytest.mark.rapids
def test_gpu_backend_runs_cudf(gpu):
    assert gpu.name == "gpu" and gpu.torch_device.type == "cuda"
    frame = gpu.df.DataFrame({"a": [1.0, 2.0, 3.0]})
    assert float(frame["a"].sum()) == 6.0


def test_every_cuml_baseline_has_its_twin_for_loading_saved_models():
    """A model saved as scikit-learn is put back on the device through CUML_TWINS: each registry pair is there."""
    from pipelines.baselines import REGISTRY

    for entries in REGISTRY.values():
        for entry in entries.values():
            module, _, name = entry["classes"]["cuml"].rpartition(".")
            assert entry["classes"]["sklearn"].rpartition(".")[2] == name
            assert backends.CUML_TWINS[name] == module
