"""The RAPIDS API the GPU path calls exists in the installed RAPIDS release, checked without a device.

`import cudf` works on a machine without a GPU (only the first operation fails), so wherever the RAPIDS
extra is installed these tests resolve every name the code reaches through cuDF/CuPy/RMM/cuML and every
keyword it passes, against the installed packages: a renamed function, a dropped keyword or an estimator
parameter cuML lacks fails here, not on a GPU run. Where RAPIDS is not installed (CI) they skip.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pandas as pd
import pytest

from pipelines import backend as backends
from pipelines.backend import memory
from pipelines.backend.base import load_class
from pipelines.errors import ConfigError
from pipelines.models import FAMILIES
from pipelines.models.estimators import Estimator
from tests.conftest import ROOT

pytestmark = pytest.mark.rapids_api


@pytest.fixture(scope="module")
def rapids():
    try:
        return {name: importlib.import_module(name) for name in ("cudf", "cupy", "cuml", "rmm")}
    except Exception as exc:
        pytest.skip(f"RAPIDS is not installed here ({type(exc).__name__}: {exc}); pip install '.[gpu-cu13]'")


def _sources() -> list[Path]:
    return sorted((ROOT / "pipelines").rglob("*.py"))


def _backend_attribute_uses() -> dict[tuple[str, str], set[str]]:
    """(role, name) -> keywords passed, for every `<x>.df.<name>`, `<x>.xp.<name>` and `module_of(...).<name>`
    in pipelines/ (role "df": pandas or cuDF; "xp": NumPy or CuPy)."""
    uses: dict[tuple[str, str], set[str]] = {}
    for path in _sources():
        tree = ast.parse(path.read_text())
        keywords = {id(n.func): {k.arg for k in n.keywords if k.arg} for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            owner, role = node.value, None
            # `frames = module_of(x)` / `dataframes = ...` name the module; a dict named `frames` has no pandas names.
            frames_module = (isinstance(owner, ast.Call) and getattr(owner.func, "id", None) == "module_of") or (
                isinstance(owner, ast.Name) and owner.id in ("dataframes", "frames") and hasattr(pd, node.attr)
            )
            if isinstance(owner, ast.Attribute) and owner.attr in ("df", "xp"):
                role = owner.attr
            elif frames_module:
                role = "df"
            if role:
                uses.setdefault((role, node.attr), set()).update(keywords.get(id(node), set()))
    return uses


def _rapids_calls() -> list[tuple[str, list[str]]]:
    """(dotted name, keywords) of each call in pipelines/backend/ on a name imported from a RAPIDS module."""
    calls = []
    for path in sorted((ROOT / "pipelines" / "backend").rglob("*.py")):
        calls += _rapids_calls_in(ast.parse(path.read_text()))
    return calls


def _rapids_calls_in(tree: ast.Module) -> list[tuple[str, list[str]]]:
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("cudf", "cupy", "rmm", "cuml"):
                    imported[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("cudf", "cupy", "rmm"):
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call | ast.Attribute):
            target = node.func if isinstance(node, ast.Call) else node
            parts = []
            while isinstance(target, ast.Attribute):
                parts.insert(0, target.attr)
                target = target.value
            if isinstance(target, ast.Name) and target.id in imported:
                keywords = [k.arg for k in node.keywords if k.arg] if isinstance(node, ast.Call) else []
                calls.append((".".join([imported[target.id], *parts]), keywords))
    return calls


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def test_the_scans_see_what_they_look_for():
    """The AST scans find the uses they are meant to check (an empty scan would pass vacuously)."""
    uses = _backend_attribute_uses()
    assert {("df", "read_parquet"), ("df", "concat"), ("xp", "asarray"), ("df", "CategoricalDtype")} <= set(uses)
    assert "columns" in uses[("df", "read_parquet")] and "categories" in uses[("df", "CategoricalDtype")]
    assert (
        "axis" in uses[("df", "concat")]
    )  # flights_context.py: frames = module_of(weather); frames.concat(..., axis=1)
    names = {name for name, _ in _rapids_calls()}
    assert {"rmm.reinitialize", "cudf.set_option", "cupy.cuda.runtime.getDeviceCount"} <= names


def test_every_frame_and_array_function_exists_in_cudf_and_cupy_with_its_keywords(rapids):
    module = {"df": rapids["cudf"], "xp": rapids["cupy"]}
    problems = []
    for (role, name), keywords in sorted(_backend_attribute_uses().items()):
        dotted = f"{module[role].__name__}.{name}"
        if not hasattr(module[role], name):
            problems.append(f"{dotted}: missing")
            continue
        problems += _keyword_problems(dotted, getattr(module[role], name), keywords)
    assert problems == []


def _keyword_problems(dotted: str, obj, keywords) -> list[str]:
    if not keywords or not callable(obj):
        return []
    try:
        parameters = inspect.signature(obj).parameters
    except (TypeError, ValueError):  # a compiled function without a signature: only the name is checked
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    return [f"{dotted}: no keyword {k!r}" for k in sorted(keywords) if k not in parameters]


def test_every_rapids_call_in_the_backend_resolves_with_its_keywords(rapids):
    problems = []
    for dotted, keywords in _rapids_calls():
        try:
            obj = _resolve(dotted)
        except (ImportError, AttributeError) as exc:
            problems.append(f"{dotted}: {type(exc).__name__}: {exc}")
            continue
        problems += _keyword_problems(dotted, obj, keywords)
    assert problems == []


ESTIMATORS = [(t, f) for f in FAMILIES.values() if issubclass(f, Estimator) for t in f.classes]


@pytest.mark.parametrize(("task", "family"), ESTIMATORS, ids=lambda value: getattr(value, "name", value))
def test_cuml_twins_take_the_baseline_parameters_and_convert_to_sklearn(rapids, task, family):
    entry = {"classes": family.classes[task], "params": family.params}
    cuml_class = _resolve(entry["classes"]["cuml"])
    sklearn_class = _resolve(entry["classes"]["sklearn"])
    accepted = inspect.signature(cuml_class).parameters
    assert [p for p in [*entry["params"], "output_type"] if p not in accepted] == []
    # Saved as scikit-learn (as_sklearn), loaded back onto the device (from_sklearn) by the same name.
    assert callable(cuml_class.as_sklearn) and callable(cuml_class.from_sklearn)
    assert cuml_class.__name__ == sklearn_class.__name__
    assert load_class(entry["classes"]["cuml"]) is cuml_class  # what GpuBackend.device_estimator loads


@pytest.mark.parametrize(("task", "family"), ESTIMATORS, ids=lambda value: getattr(value, "name", value))
def test_every_class_a_family_names_resolves_the_dask_twins_included(rapids, task, family):
    """The cuml.dask twins import raft_dask, which only cuml-cu13[dask] installs: without it they fail here."""
    for kind, path in family.classes[task].items():
        cls = load_class(path)  # what Backend.estimator and Backend.cluster_estimator load
        parameters = inspect.signature(cls).parameters
        if kind == "cuml.dask" and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            assert [p for p in [*family.params, "client", "output_type"] if p not in parameters] == []


def check_device_bytes(value) -> None:
    """A size dask-cuda takes per worker: a fraction in (0, 1], or what its parse_device_bytes reads (an int, or
    text such as "5GB"; no device needed for either)."""
    from dask_cuda.utils import parse_device_bytes

    if isinstance(value, float):
        assert 0 < value <= 1, f"a fraction of the device must be in (0, 1], found {value}"
    else:
        parse_device_bytes(value)


SIZES = ("rmm_pool_size", "rmm_maximum_pool_size", "rmm_release_threshold", "device_memory_limit")


def test_the_local_cuda_cluster_options_pass_dask_cudas_own_checks(rapids, monkeypatch):
    """The keywords --cluster local-cuda starts its workers with: LocalCUDACluster takes each, its sizes parse as
    dask-cuda parses them, and its RMM plugin accepts the combination (it is built before any worker starts)."""
    import dask_cuda
    from dask_cuda import LocalCUDACluster
    from dask_cuda.plugins import RMMSetup
    from distributed import LocalCluster

    from pipelines.backend.gpu_cluster import local_cuda_cluster

    started = []
    monkeypatch.setattr(dask_cuda, "LocalCUDACluster", lambda **options: started.append(options))
    local_cuda_cluster(1)
    (options,) = started
    # LocalCUDACluster passes the keywords it does not name on to LocalCluster
    accepted = {**inspect.signature(LocalCluster).parameters, **inspect.signature(LocalCUDACluster).parameters}
    assert [k for k in options if k not in accepted] == []
    for name in SIZES:
        if options.get(name) is not None:
            check_device_bytes(options[name])
    assert not (options.get("rmm_async") and options.get("rmm_pool_size")), "dask-cuda: no pool size with rmm_async"
    RMMSetup(
        initial_pool_size=options.get("rmm_pool_size"),
        maximum_pool_size=options.get("rmm_maximum_pool_size"),
        managed_memory=options.get("rmm_managed_memory", False),
        async_alloc=options.get("rmm_async", False),
        release_threshold=options.get("rmm_release_threshold"),
        log_directory=None,
        track_allocations=False,
        external_lib_list=None,
    )


@pytest.mark.parametrize("value", ["90%", "ninety", 1.5])
def test_a_size_dask_cuda_refuses_fails_the_check(rapids, value):
    with pytest.raises((ValueError, AssertionError)):
        check_device_bytes(value)


# Arguments a cuDF function is called with where the backend calls it with a column (any list does, for the
# checks cuDF makes before it touches the device).
SAMPLE_ARGUMENTS = {"to_datetime": (["2024-01-31"],), "to_numeric": (["1"],), "to_timedelta": ([1],)}


def _constant_keyword_calls(tree: ast.AST) -> list[tuple[str, dict]]:
    """(function, {keyword: constant}) of each `<x>.df.<f>(...)` or `module_of(...).<f>(...)` call whose
    function is in SAMPLE_ARGUMENTS."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        on_frames = (isinstance(owner, ast.Attribute) and owner.attr == "df") or (
            isinstance(owner, ast.Call) and getattr(owner.func, "id", None) == "module_of"
        )
        if on_frames and node.func.attr in SAMPLE_ARGUMENTS:
            keywords = {k.arg: k.value.value for k in node.keywords if k.arg and isinstance(k.value, ast.Constant)}
            found.append((node.func.attr, keywords))
    return found


def _refused_before_the_device(function: str, keywords: dict) -> str | None:
    """None when cuDF takes the call as far as the device (where there is none, it fails loading the driver)."""
    import cudf

    try:
        getattr(cudf, function)(*SAMPLE_ARGUMENTS[function], **keywords)
    except Exception as exc:
        if type(exc).__name__ in ("DynamicLibNotFoundError", "CUDARuntimeError", "CUDADriverError"):
            return None
        return f"cudf.{function}(..., {keywords}): {type(exc).__name__}: {exc}"
    return None


def test_the_cudf_calls_with_set_keywords_pass_cudfs_checks(rapids):
    problems = []
    for path in _sources():
        for function, keywords in _constant_keyword_calls(ast.parse(path.read_text())):
            problem = _refused_before_the_device(function, keywords)
            if problem:
                problems.append(f"{path.relative_to(ROOT)}: {problem}")
    assert problems == []


def test_a_call_cudf_refuses_before_the_device_is_caught(rapids):
    """The GPU backend's earlier parse: cuDF refuses errors="coerce" on a column before any device work."""
    calls = _constant_keyword_calls(ast.parse('self.df.to_datetime(series.str.strip(), errors="coerce")'))
    assert calls == [("to_datetime", {"errors": "coerce"})]
    assert "NotImplementedError" in _refused_before_the_device(*calls[0])
    assert _refused_before_the_device("to_datetime", {}) is None  # reaches the device (or its absence)


def test_cudf_spill_option_and_manager_exist(rapids):
    from cudf.core.buffer.spill_manager import get_global_manager

    assert rapids["cudf"].get_option("spill") in (False, True)
    assert callable(get_global_manager)


def test_rmm_pool_needs_a_cuda_torch(rapids):
    import torch

    if torch.cuda.is_available():
        pytest.skip("torch has CUDA here: the pool is tested by tests/gpu/test_gpu_memory.py")
    with pytest.raises(ConfigError, match="needs a CUDA build of torch"):
        backends.configure_gpu_memory(pool=True)
    assert memory._MEMORY == {}  # refused before anything was set


def test_rapids_without_a_device_falls_back_to_cpu_with_the_reason(rapids):
    reason = backends.gpu_unusable_reason()
    if reason is None:
        pytest.skip("a GPU is usable here")
    assert reason.startswith(("no CUDA device", "the CUDA probe failed", "torch was built without CUDA"))
    assert backends.select("auto").name == "cpu"


def test_the_device_only_selection_calls_exist_on_cudf_series_with_their_keywords(rapids):
    """features/order.py's `_sorted_on_device` runs on cuDF only (the CPU audit never sees it): every Series
    method it calls exists on cuDF's Series and takes the keywords it passes."""
    tree = ast.parse((ROOT / "pipelines" / "features" / "order.py").read_text())
    (function,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_sorted_on_device"]
    keywords = {id(n.func): {k.arg for k in n.keywords if k.arg} for n in ast.walk(function) if isinstance(n, ast.Call)}
    used = {(n.attr, frozenset(keywords.get(id(n), ()))) for n in ast.walk(function) if isinstance(n, ast.Attribute)}
    used = {(name, kw) for name, kw in used if hasattr(pd.Series, name)}
    assert {name for name, _ in used} >= {"astype", "dropna", "sort_values", "iloc"}
    problems = []
    for name, kw in sorted(used):
        if not hasattr(rapids["cudf"].Series, name):
            problems.append(f"cudf.Series.{name}: missing")
            continue
        problems += _keyword_problems(f"cudf.Series.{name}", getattr(rapids["cudf"].Series, name), kw)
    assert problems == []
