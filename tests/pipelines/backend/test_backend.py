"""Backend selection, the CPU/GPU split of the backend, and the rule that only pipelines/backend/ imports RAPIDS."""

from __future__ import annotations

import ast
import inspect
import os

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines import backend as backends
from pipelines.backend import probe
from pipelines.backend.base import Backend
from pipelines.backend.cpu import CpuBackend
from pipelines.backend.gpu import GpuBackend
from pipelines.errors import BackendUnavailable, ConfigError
from tests.conftest import ROOT

RAPIDS = {"cudf", "cupy", "cuml", "dask_cudf", "dask_cuda", "rmm", "cupyx"}
PACKAGE = ROOT / "pipelines" / "backend"
DYNAMIC_IMPORTS = {"import_module", "__import__"}  # importlib.import_module("cudf"), __import__("cudf")


def _imported_modules(path, top_level_only: bool = False) -> set[str]:
    """Top-level names of the modules `path` imports, by statement or by a literal `import_module("...")`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _called_name(node.func) in DYNAMIC_IMPORTS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value.split(".")[0])
    return found


def _called_name(func: ast.expr) -> str | None:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


# The GPU peer is the competitor's script, written with cuDF and CuPy as its author would; nothing imports it.
COMPETITORS = {ROOT / "benchmarks" / "peer_gpu.py"}


def test_only_the_backend_package_imports_rapids():
    offenders = {}
    for folder in ("pipelines", "flows", "notebooks", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.is_relative_to(PACKAGE) or path in COMPETITORS:
                continue
            leaked = _imported_modules(path) & RAPIDS
            if leaked:
                offenders[str(path.relative_to(ROOT))] = sorted(leaked)
    assert offenders == {}


def test_the_competitors_scripts_import_rapids_and_nothing_imports_them():
    assert all(_imported_modules(path) & RAPIDS for path in COMPETITORS)
    names = {f"benchmarks.{path.stem}" for path in COMPETITORS}
    for folder in ("pipelines", "flows", "notebooks", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
            imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            assert not imported & names, path


def test_the_backend_package_does_import_rapids():
    """The scan above sees the imports it looks for (it would catch a leak), literal import_module calls too."""
    imported = set().union(*(_imported_modules(p) for p in PACKAGE.rglob("*.py")))
    assert {"cudf", "cupy", "rmm"} <= imported
    assert "cudf" in _imported_modules(PACKAGE / "frames.py")  # module_of: importlib.import_module("cudf")


def test_the_backend_imports_rapids_only_inside_functions():
    """Every module of the package imports where RAPIDS is not installed; the CPU side never reaches for it."""
    assert {p.name: _imported_modules(p, top_level_only=True) & RAPIDS for p in PACKAGE.rglob("*.py")} == {
        p.name: set() for p in PACKAGE.rglob("*.py")
    }
    assert _imported_modules(PACKAGE / "cpu.py") & RAPIDS == set()
    assert _imported_modules(PACKAGE / "base.py") & RAPIDS == set()


def test_backend_modules_stay_small():
    """The split keeps each module short enough to read whole: at most 250 lines, functions at most 60."""
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text()
        assert len(source.splitlines()) <= 250, path.name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno + 1 <= 60, f"{path.name}: {node.name}"


@pytest.mark.parametrize("cls", [CpuBackend, GpuBackend])
def test_each_backend_implements_every_method_the_base_declares(cls):
    declared = Backend.__abstractmethods__
    assert {"read_parquet", "to_numpy", "device_estimator", "portable_estimator", "xgboost_device"} <= declared
    assert cls.__abstractmethods__ == frozenset()
    assert sorted(name for name in declared if name not in vars(cls)) == []  # its own, not inherited by chance
    for name in declared:
        implemented = vars(cls)[name]
        if inspect.isfunction(implemented):  # the same parameters (types may narrow), so callers need not know
            assert _parameters(implemented) == _parameters(getattr(Backend, name)), name


def _parameters(function) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_pipelines_never_import_prefect():
    offenders = [str(p) for p in (ROOT / "pipelines").rglob("*.py") if "prefect" in _imported_modules(p)]
    assert offenders == []


def test_cpu_is_explicit(monkeypatch):
    monkeypatch.setenv("DEVICEPIPE_BACKEND", "gpu")
    chosen = backends.select("cpu")
    assert chosen.name == "cpu" and chosen.torch_device == torch.device("cpu")
    assert chosen.estimator_family == "sklearn" and chosen.xgboost_device == "cpu"
    assert isinstance(chosen, CpuBackend) and not chosen.is_gpu


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


# --- select: once per process (the probe monkeypatched: a stand-in GPU on this machine) ------------------------
def _stand_in_gpu() -> GpuBackend:
    """A GpuBackend over pandas/NumPy on the CPU: enough for what `select` and the estimator dispatch do."""
    return GpuBackend(
        name="gpu", df=pd, xp=np, torch_device=torch.device("cpu"), device_name="stand-in", estimator_family="cuml"
    )


@pytest.fixture
def probes(monkeypatch, fresh_backend_selection):
    """The memory settings of each device probe `select` runs; a GPU is "usable" unless devices are hidden."""
    calls = []

    def fake_probe(rmm_pool: bool = False, spill: bool = False) -> str | None:
        calls.append((rmm_pool, spill))
        return "hidden" if os.environ.get("CUDA_VISIBLE_DEVICES") == "" else None

    monkeypatch.setattr(probe, "gpu_unusable_reason", fake_probe)
    monkeypatch.setattr(probe, "gpu_backend", _stand_in_gpu)
    monkeypatch.delenv("DEVICEPIPE_BACKEND", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return calls


def test_select_probes_once_and_returns_the_same_backend(probes):
    first = backends.select("auto", rmm_pool=True, spill=True)
    assert first.is_gpu and first.device_name == "stand-in"
    assert backends.select("auto", rmm_pool=True, spill=True) is first
    assert backends.select("gpu", rmm_pool=True, spill=True) is first  # "auto" took the GPU: the same request
    assert probes == [(True, True)]


def test_other_memory_settings_after_a_gpu_selection_are_refused(probes):
    """The CLI selected without memory settings, then the flow with --spill: said plainly, not half-applied."""
    backends.select("gpu")
    with pytest.raises(ConfigError) as refused:
        backends.select("gpu", rmm_pool=True, spill=True)
    message = str(refused.value)
    assert "rmm_pool=False, spill=False" in message  # what was configured
    assert "rmm_pool=True, spill=True" in message  # what was asked
    assert "start a new process" in message
    assert probes == [(False, False)]


def test_the_cpu_ignores_memory_settings_and_is_chosen_once(probes, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    first = backends.select("auto")
    assert first.name == "cpu"
    assert backends.select("auto", rmm_pool=True, spill=True) is first
    assert backends.select("cpu", spill=True) is first
    with pytest.raises(BackendUnavailable, match="hidden"):
        backends.select("gpu")
    assert probes == [(False, False)]


def test_environment_changes_are_seen(probes, monkeypatch):
    """DEVICEPIPE_BACKEND is read at every call; a change of CUDA_VISIBLE_DEVICES probes again."""
    assert backends.select("auto").is_gpu
    monkeypatch.setenv("DEVICEPIPE_BACKEND", "cpu")
    assert backends.select("auto").name == "cpu"
    monkeypatch.delenv("DEVICEPIPE_BACKEND")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert backends.select("auto").name == "cpu"
    assert probes == [(False, False), (False, False)]


def test_the_reset_forgets_the_selection(probes):
    first = backends.select("gpu")
    probe._reset_selection()
    assert backends.select("gpu") is not first
    assert len(probes) == 2


# --- estimators ----------------------------------------------------------------------------------------------
class StandInCuml:
    """A cuML-like estimator class: keeps its parameters, converts from and to scikit-learn."""

    def __init__(self, **params):
        self.params = params

    @classmethod
    def from_sklearn(cls, model):
        return cls(converted=model)

    def as_sklearn(self):
        return self.params["converted"]


CLASSES = {"sklearn": "sklearn.linear_model.LogisticRegression", "cuml": f"{__name__}.StandInCuml"}


def test_estimator_resolves_the_family_class(cpu):
    model = cpu.estimator({"sklearn": "sklearn.ensemble.RandomForestClassifier", "cuml": "cuml.x.Y"}, n_estimators=3)
    assert type(model).__name__ == "RandomForestClassifier"
    assert model.n_jobs == -1 and model.n_estimators == 3
    assert cpu.estimator(CLASSES, C=2.0).get_params()["n_jobs"] is None  # no ensemble, no n_jobs


def test_cpu_estimators_stay_as_they_are(cpu):
    model = cpu.estimator(CLASSES)
    assert cpu.device_estimator(model, CLASSES) is model
    assert cpu.portable_estimator(model) is model


def test_gpu_estimators_go_through_the_cuml_class_of_the_table():
    """The GPU's estimator logic, with a stand-in for the cuML class (RAPIDS is not needed for the dispatch)."""
    gpu = _stand_in_gpu()
    made = gpu.estimator(CLASSES, C=2.0)
    assert isinstance(made, StandInCuml) and made.params == {"C": 2.0, "output_type": "cupy"}
    saved = object()
    loaded = gpu.device_estimator(saved, CLASSES)
    assert isinstance(loaded, StandInCuml) and gpu.portable_estimator(loaded) is saved
    assert gpu.xgboost_device == "cuda" and gpu.is_gpu


@pytest.mark.gpu
@pytest.mark.rapids
def test_gpu_backend_runs_cudf(gpu):
    assert gpu.name == "gpu" and gpu.torch_device.type == "cuda"
    frame = gpu.df.DataFrame({"a": [1.0, 2.0, 3.0]})
    assert float(frame["a"].sum()) == 6.0


@pytest.mark.gpu
@pytest.mark.rapids
def test_the_gpu_selection_holds_for_the_process(gpu):
    """On a device: the same object again, and other memory settings refused (the first fixed them)."""
    chosen = backends.select("gpu")
    assert backends.select("gpu") is chosen and chosen.is_gpu
    with pytest.raises(ConfigError, match="start a new process"):
        backends.select("gpu", rmm_pool=True)


def test_a_device_too_busy_for_the_pool_is_a_reason_to_fall_back(monkeypatch):
    """The memory settings are applied before the probe's first cuDF operation: a pool the device cannot give
    (rmm.reinitialize failing) is a reason like any other, so --backend auto takes the CPU."""
    import sys
    import types

    cupy = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1)))
    monkeypatch.setitem(sys.modules, "cudf", types.ModuleType("cudf"))
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    def no_room(pool: bool, spill: bool) -> None:
        raise MemoryError("std::bad_alloc: out_of_memory: CUDA error: out of memory")  # what rmm raises

    monkeypatch.setattr(probe, "configure_gpu_memory", no_room)
    reason = backends.gpu_unusable_reason(rmm_pool=True)
    assert reason == (
        "the GPU memory setup failed: MemoryError: std::bad_alloc: out_of_memory: CUDA error: out of memory"
    )

    def refused(pool: bool, spill: bool) -> None:
        raise ConfigError("--rmm-pool needs a CUDA build of torch")

    monkeypatch.setattr(probe, "configure_gpu_memory", refused)
    with pytest.raises(ConfigError, match="needs a CUDA build"):  # the user's settings: shown, not a fallback
        backends.gpu_unusable_reason(rmm_pool=True)
