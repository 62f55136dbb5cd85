"""The shape of the code: rooms of a readable size, and no branch on a dataset's or a model's name outside the
recipes (pipelines/datasets) and the families (pipelines/models)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipelines.datasets import RECIPES
from pipelines.models import FAMILIES
from tests.conftest import ROOT

MAX_MODULE_LINES, MAX_FUNCTION_LINES = 250, 60
SOURCES = sorted(p for folder in ("pipelines", "flows") for p in (ROOT / folder).rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_modules_and_functions_are_of_a_readable_size(path):
    lines = path.read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{_name(path)} has {lines} lines (at most {MAX_MODULE_LINES})"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{_name(path)}:{node.lineno} {node.name} has {length} lines"


OUTSIDE = [p for p in SOURCES if not {"datasets", "models"} & set(p.relative_to(ROOT).parts)]


@pytest.mark.parametrize("path", OUTSIDE, ids=_name)
def test_nothing_outside_the_recipes_and_families_names_one(path):
    """A comparison with a dataset's or model's name, or a lookup by one, outside the recipes and the families."""
    found = _branches_on_names(path.read_text())
    assert not found, f"{_name(path)} branches on a dataset or model name (lines {found}): ask the recipe or family"


def _branches_on_names(source: str) -> list[int]:
    names = set(RECIPES) | set(FAMILIES)

    def named(node: ast.AST) -> bool:
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(named(element) for element in node.elts)
        return isinstance(node, ast.Constant) and node.value in names

    lines = []
    for node in ast.walk(ast.parse(source)):
        compared = isinstance(node, ast.Compare) and any(named(n) for n in [node.left, *node.comparators])
        looked_up = isinstance(node, ast.Subscript) and named(node.slice)
        if compared or looked_up:
            lines.append(node.lineno)
    return lines


def test_the_branch_scan_sees_the_branches_this_project_removed():
    assert _branches_on_names('if name == "xgboost":\n    pass\n') == [1]
    assert _branches_on_names('x = scores["mlp"]\nif config.dataset in ("table",): pass\n') == [1, 2]
    assert _branches_on_names('y = "xgboost"\n') == []


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_records_with_more_than_four_fields_are_keyword_only(path):
    """A dataclass of more than four fields is built by name (`kw_only=True`), never by position."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ClassDef):
            continue
        decorators = [ast.unparse(d) for d in node.decorator_list if "dataclass" in ast.unparse(d)]
        fields = [s for s in node.body if isinstance(s, ast.AnnAssign) and "ClassVar" not in ast.unparse(s.annotation)]
        if decorators and len(fields) > 4:
            assert "kw_only=True" in decorators[0], f"{_name(path)}:{node.lineno} {node.name} has {len(fields)} fields"


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_no_formatting_is_skipped_to_pack_arguments(path):
    assert "fmt: skip" not in path.read_text(), f"{_name(path)} packs code past the formatter (# fmt: skip)"


PACKAGES = sorted(p.parent for p in SOURCES if p.name == "__init__.py")


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_package_init_has_a_docstring_and_only_re_exports(package):
    """What the package is for (and what it may import) in its docstring; no code but imports and __all__."""
    tree = ast.parse((package / "__init__.py").read_text())
    assert ast.get_docstring(tree), f"{package.relative_to(ROOT)}/__init__.py has no docstring"
    for node in tree.body[1:]:
        names = [t.id for t in node.targets if isinstance(t, ast.Name)] if isinstance(node, ast.Assign) else []
        kept = isinstance(node, ast.Import | ast.ImportFrom) or names in (["__all__"], ["__version__"])
        assert kept, f"{package.relative_to(ROOT)}/__init__.py:{node.lineno} is not a re-export"


@pytest.mark.parametrize(("folder", "most"), [("pipelines", 8), ("flows", 10)])
def test_few_modules_stay_at_the_top_of_a_package_tree(folder, most):
    top = sorted(p.name for p in (ROOT / folder).glob("*.py"))
    assert len(top) <= most, f"{folder}/ holds {len(top)} modules at its top (at most {most}): {top}"
