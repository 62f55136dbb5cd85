"""Record the pandas API the library calls: each method, with its keywords and where it was called from.

`recording()` wraps every public method (and `__iter__`, `__array__`) of the pandas classes the data path holds
(frames, series, indexes, group-bys, the .str/.dt/.cat accessors) for as long as it is open, and notes a call when
the frame that made it is in pipelines/. tests/gpu/test_pandas_audit.py runs the CPU pipeline under it, then checks
each recorded call against cuDF's class of the same role.

Objects that are on the host on the GPU path too are not recorded, nor what is made from them: a frame's column
names (cuDF's `DataFrame.columns` is a pandas Index), and the backend's host copies (`Backend.to_pandas`,
`host_copy`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tests.conftest import ROOT

PIPELINES = str(ROOT / "pipelines") + "/"
# The pandas classes the data path holds, by the name of their cuDF counterpart's role.
CLASSES = {
    "Series": pd.Series,
    "DataFrame": pd.DataFrame,
    "Index": pd.Index,
    "RangeIndex": pd.RangeIndex,
    "DatetimeIndex": pd.DatetimeIndex,
    "DataFrameGroupBy": pd.api.typing.DataFrameGroupBy,
    "SeriesGroupBy": pd.api.typing.SeriesGroupBy,
    "StringMethods": pd.core.strings.accessor.StringMethods,
    "DatetimeProperties": pd.core.indexes.accessors.DatetimeProperties,
    "CategoricalAccessor": pd.core.arrays.categorical.CategoricalAccessor,
}
DUNDERS = ("__iter__", "__array__")  # iteration and NumPy conversion: what cuDF refuses outright


@dataclass
class Calls:
    """(role, method) -> keyword sets seen, and where each (role, method) was called from; and the objects known
    to be on the host on every backend (by id, held so that no id is reused while recording)."""

    keywords: dict[tuple[str, str], set[frozenset[str]]] = field(default_factory=dict)
    sites: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    host: dict[int, object] = field(default_factory=dict)

    def on_host(self, value: object) -> object:
        if isinstance(value, pd.Series | pd.DataFrame | pd.Index):
            self.host[id(value)] = value
        return value

    def add(self, role: str, method: str, keywords: frozenset[str], site: str) -> None:
        self.keywords.setdefault((role, method), set()).add(keywords)
        self.sites.setdefault((role, method), set()).add(site)


def _methods(cls: type) -> list[str]:
    names = []
    for name in dir(cls):
        if name.startswith("_") and name not in DUNDERS:
            continue
        attribute = inspect.getattr_static(cls, name, None)
        if inspect.isfunction(attribute):
            names.append(name)
    return names


def _recorder(role: str, name: str, function, calls: Calls):
    @functools.wraps(function)
    def recorded(*args, **kwargs):
        if args and id(args[0]) in calls.host:  # a host object: so is what is made from it
            return calls.on_host(function(*args, **kwargs))
        caller = sys._getframe(1)
        path = caller.f_code.co_filename
        if path.startswith(PIPELINES):
            site = f"{Path(path).relative_to(ROOT).as_posix()}:{caller.f_lineno}"
            calls.add(role, name, frozenset(kwargs), site)
        return function(*args, **kwargs)

    return recorded


def _host_maker(function, calls: Calls):
    @functools.wraps(function)
    def made_on_host(*args, **kwargs):
        return calls.on_host(function(*args, **kwargs))

    return made_on_host


def _host_makers(calls: Calls) -> list[tuple[object, str, object]]:
    """(owner, name, original) for each patch that marks host objects: the backend's host copies wherever a module
    of pipelines/ holds them by name, and DataFrame.columns."""
    from pipelines.backend import frames
    from pipelines.backend.cpu import CpuBackend

    patches: list[tuple[object, str, object]] = [(CpuBackend, "to_pandas", CpuBackend.__dict__["to_pandas"])]
    for name, module in list(sys.modules.items()):
        if name.startswith("pipelines") and getattr(module, "host_copy", None) is frames.host_copy:
            patches.append((module, "host_copy", frames.host_copy))
    columns = pd.DataFrame.__dict__["columns"]
    patches.append((pd.DataFrame, "columns", columns))
    for owner, name, original in patches:
        made = _HostAttribute(original, calls) if name == "columns" else _host_maker(original, calls)
        setattr(owner, name, made)
    return patches


class _HostAttribute:
    """A data descriptor (pandas' DataFrame.columns) whose values are marked as host objects."""

    def __init__(self, original, calls: Calls):
        self.original, self.calls = original, calls

    def __get__(self, instance, owner=None):
        value = self.original.__get__(instance, owner)
        return value if instance is None else self.calls.on_host(value)

    def __set__(self, instance, value):
        self.original.__set__(instance, value)


@contextlib.contextmanager
def recording() -> Iterator[Calls]:
    """Record the calls made from pipelines/ on the pandas classes while the block runs."""
    calls = Calls()
    patched = _host_makers(calls)
    for role, cls in CLASSES.items():
        for name in _methods(cls):
            original = cls.__dict__.get(name)
            patched.append((cls, name, original))
            setattr(cls, name, _recorder(role, name, getattr(cls, name), calls))
    try:
        yield calls
    finally:
        for cls, name, original in reversed(patched):
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
