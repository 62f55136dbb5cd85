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


# Method names the data path calls on objects that are not frames, though pandas frames have them too.
NOT_FRAME_CALLS = {"get": "dict.get", "item": "NumPy scalar .item()", "pop": "list/set .pop()"}
# Code that calls pandas on pandas frames only: the backend package (its CPU side; its GPU side goes through cuDF,
# checked by the scans above), and datasets/nycflights13.py and datasets/synth.py, which stage and synthesize the
# flights tables with pandas/pyarrow before any backend is chosen.
HOST_ONLY = ("pipelines/backend/", "pipelines/datasets/nycflights13.py", "pipelines/datasets/synth.py")


def _method_calls() -> list[tuple[str, int, str, set[str]]]:
    """(file, line, method, keywords) of every `x.method(...)` in pipelines/ outside HOST_ONLY."""
    calls = []
    for path in _sources():
        if path.relative_to(ROOT).as_posix().startswith(HOST_ONLY):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                keywords = {k.arg for k in node.keywords if k.arg}
                calls.append((str(path.relative_to(ROOT)), node.lineno, node.func.attr, keywords))
    return calls


def _frame_class_pairs(cudf) -> list[tuple[type, type]]:
    from cudf.core.groupby.groupby import DataFrameGroupBy, SeriesGroupBy

    return [
        (pd.Series, cudf.Series),
        (pd.DataFrame, cudf.DataFrame),
        (pd.core.groupby.DataFrameGroupBy, DataFrameGroupBy),
        (pd.core.groupby.SeriesGroupBy, SeriesGroupBy),
    ]


def test_every_pandas_method_the_data_path_calls_exists_in_cudf_and_takes_its_keywords(rapids):
    """The feature ops, loaders and splits call the pandas API on cuDF frames: a pandas method (or keyword) that
    cuDF lacks would fail only on the GPU. Calls are matched by name, so a non-frame call that shares a name
    with a pandas method is listed in NOT_FRAME_CALLS."""
    pairs = _frame_class_pairs(rapids["cudf"])
    problems = []
    calls = _method_calls()
    for path, line, name, keywords in calls:
        in_pandas = [(p, c) for p, c in pairs if hasattr(p, name)]
        if not in_pandas or name in NOT_FRAME_CALLS:
            continue
        if not any(hasattr(c, name) for _, c in in_pandas):
            problems.append(f"{path}:{line}: cuDF has no {name}()")
            continue
        for pandas_class, cudf_class in in_pandas:
            if not hasattr(cudf_class, name):
                continue
            try:
                pandas_takes = inspect.signature(getattr(pandas_class, name)).parameters
            except (TypeError, ValueError):  # a property or an uninspectable attribute: not this call
                continue
            if not keywords <= set(pandas_takes):  # not this class's method (pandas would refuse the keywords)
                continue
            for problem in _keyword_problems(f"cudf.{cudf_class.__name__}.{name}", getattr(cudf_class, name), keywords):
                problems.append(f"{path}:{line}: {problem}")
    assert len(calls) > 100  # the scan sees the data path
    assert problems == []
