"""Imports run one way: down a declared order of layers, never up, never across to a peer, and never in a cycle.

Every import of a project module counts, at the top of a module or inside a function. A package's own modules may
import each other (without a cycle); a package's `__init__` only re-exports. docs/architecture.md draws the same map.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Highest first. A module may import modules of a lower layer, and its own package's (or, among the basics, the
# other basics); nothing of its own layer's other packages, nothing above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("the command line", ("flows.cli",)),
    ("deployments", ("flows.deployments",)),
    ("the flows", ("flows.train", "flows.score", "flows.features", "flows.tune")),
    ("tasks", ("flows.tasks",)),
    ("the Prefect server", ("flows.server",)),
    ("the flows' basics", ("flows.fixed_cost", "flows.defaults", "flows")),
    ("a run in one call", ("pipelines.runner",)),
    ("stages", ("pipelines.stages",)),
    ("tracking", ("pipelines.tracking",)),
    ("runs", ("pipelines.runs",)),
    ("tuning", ("pipelines.tuning",)),
    ("report, scoring", ("pipelines.report", "pipelines.scoring")),
    ("models", ("pipelines.models",)),
    ("training, datasets", ("pipelines.training", "pipelines.datasets")),
    ("features", ("pipelines.features",)),
    ("data", ("pipelines.data",)),
    ("cluster", ("pipelines.cluster",)),
    ("backend", ("pipelines.backend",)),
    ("the basics", ("pipelines.config", "pipelines.errors", "pipelines.files", "pipelines.evaluate", "pipelines")),
]
BASICS = LAYERS[-1][1]
# Pairs the layers would allow that the design does not: a model family never reads a dataset recipe (the feature
# set it fits on lives with the features).
FORBIDDEN = [("pipelines.models", "pipelines.datasets")]


def _modules() -> dict[str, Path]:
    found = {}
    for folder in ("pipelines", "flows"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def room(module: str) -> tuple[int, str]:
    """(layer index, the package or basic module it belongs to): the longest declared prefix that names it."""
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS (and docs/architecture.md)")
    return best


def imports(module: str) -> list[tuple[str, int]]:
    """(imported project module, line) for every import in `module`, top level or inside a function."""
    found = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.append((full if full in MODULES else node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
    return [(name, line) for name, line in found if name in MODULES]


def allowed(source: str, target: str) -> bool:
    (source_layer, source_room), (target_layer, target_room) = room(source), room(target)
    if (source_room, target_room) in FORBIDDEN:
        return False
    if source_room == target_room or (source_room in BASICS and target_room in BASICS):
        return target != source
    return target_layer > source_layer  # lower in the list: a lower layer


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down(module):
    upward = [f"line {line}: {target}" for target, line in imports(module) if not allowed(module, target)]
    layer = LAYERS[room(module)[0]][0]
    assert not upward, f"{module} ({layer}) imports up or across: {upward}"


def test_no_import_cycles():
    graph = {module: {target for target, _ in imports(module)} for module in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target] if target in path else [module, target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def layers_checked() -> list[str]:
    """The lines the test run ends with (tests/conftest.py's terminal summary): the layers, highest first."""
    counts = f"{len(MODULES)} modules checked down {len(LAYERS)} layers"
    lines = [f"imports of {counts}, highest first (tests/test_layers.py):"]
    return lines + [f"  {name}: {', '.join(prefixes)}" for name, prefixes in LAYERS]


def test_the_layer_check_sees_an_upward_import():
    assert not allowed("pipelines.data.validate", "pipelines.features.workflow")
    assert not allowed("pipelines.training.handoff", "pipelines.datasets.base")  # a peer, not a lower layer
    assert allowed("pipelines.models.mlp", "pipelines.training.train")
    assert not allowed("pipelines.models.xgboost", "pipelines.datasets.base")
    assert allowed("pipelines.files", "pipelines.errors")


def _inner_imports(module: str) -> list[tuple[int, str]]:
    """(line, text) of each import of a project module inside a function or a block, with no comment saying why
    on its line or on the comment lines just above its group of imports."""
    source = MODULES[module].read_text()
    lines, tree = source.split("\n"), ast.parse(source)
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in top:
            continue
        name = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
        if (name or "").split(".")[0] not in ("pipelines", "flows"):
            continue
        above = node.lineno - 2
        while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
            above -= 1
        if "#" not in lines[node.lineno - 1] and not (above >= 0 and lines[above].strip().startswith("#")):
            found.append((node.lineno, lines[node.lineno - 1].strip()))
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_an_import_inside_a_function_says_why(module):
    """Imports go at the top; one inside a function is there for start-up time (or a library only some machines
    have), and a comment says so."""
    assert not _inner_imports(module), (
        f"{module}: imports inside a function without a comment: {_inner_imports(module)}"
    )
