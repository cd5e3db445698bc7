"""Every module of ``edgenas`` imports on its own, and the module-level imports form no cycle, so no
import has to hide inside a function to dodge one (#24). Function-level imports remain only for
heavy or optional libraries (torch, tvm, ray, ...) a caller may never need."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import edgenas

PACKAGE_DIR = Path(edgenas.__file__).parent

_IMPORT_ALL = """
import importlib, pkgutil, edgenas
failed = []
for info in pkgutil.walk_packages(edgenas.__path__, "edgenas.", onerror=failed.append):
    try:
        importlib.import_module(info.name)
    except Exception as e:  # report every module that fails, not just the first
        failed.append(f"{info.name}: {type(e).__name__}: {e}")
print(*failed, sep="\\n")
"""


@pytest.mark.slow
def test_every_module_imports_in_a_fresh_interpreter() -> None:
    run = subprocess.run([sys.executable, "-c", _IMPORT_ALL], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""


@pytest.mark.slow
def test_the_cli_starts_without_torch() -> None:
    """``edgenas --help`` or ``edgenas boards`` should not pay seconds for torch: each command
    imports the library it calls when it runs."""
    code = "import sys, edgenas.cli; print(sorted(m for m in ('torch', 'matplotlib', 'onnx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _modules() -> dict[str, Path]:
    """Dotted name → file for every module of the package (a package is named by its ``__init__.py``)."""
    names = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_time_statements(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The imports that run when the module is imported: its body, ``if``/``try``/``with`` blocks and
    class bodies; not functions, and not ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            found.append(stmt)
        elif isinstance(stmt, ast.If):
            found += _import_time_statements(stmt.orelse if _is_type_checking(stmt.test) else stmt.body + stmt.orelse)
        elif isinstance(stmt, ast.Try):
            handlers = [s for h in stmt.handlers for s in h.body]
            found += _import_time_statements(stmt.body + handlers + stmt.orelse + stmt.finalbody)
        elif isinstance(stmt, (ast.With, ast.ClassDef)):
            found += _import_time_statements(stmt.body)
    return found


def _absolute(module: str, is_package: bool, stmt: ast.ImportFrom) -> str:
    """The module ``from ... import`` names, relative levels resolved against ``module``."""
    if not stmt.level:
        return stmt.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    return ".".join(package[:len(package) - stmt.level + 1] + ([stmt.module] if stmt.module else []))


def _lazy_homes(package: str, path: Path) -> dict[str, str]:
    """For a package that exports names on first use (a module ``__getattr__``, as ``deploy`` does):
    name → the submodule its ``if TYPE_CHECKING:`` block imports it from, which
    ``from package import name`` then loads. Empty for any other module."""
    tree = ast.parse(path.read_text(), str(path))
    if not any(isinstance(s, ast.FunctionDef) and s.name == "__getattr__" for s in tree.body):
        return {}
    homes = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and _is_type_checking(stmt.test):
            for found in stmt.body:
                if isinstance(found, ast.ImportFrom):
                    home = _absolute(package, True, found)
                    homes.update((alias.asname or alias.name, home) for alias in found.names)
    return homes


def _targets(module: str, is_package: bool, stmt: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``stmt`` executes: the named module or, for ``from M import x``,
    ``M.x`` when it is a module, else ``M`` (and the submodule a lazy ``M`` loads ``x`` from);
    plus the parent packages it runs first, except ``module``'s own ancestors (already being
    imported when ``module`` runs)."""
    if isinstance(stmt, ast.Import):
        named = {alias.name for alias in stmt.names}
    else:
        base = _absolute(module, is_package, stmt)
        lazy = _lazy_homes(base, modules[base]) if base in modules and modules[base].name == "__init__.py" else {}
        named = {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in stmt.names}
        named |= {lazy[alias.name] for alias in stmt.names if alias.name in lazy}
    ancestors = {module.rsplit(".", k)[0] for k in range(1, module.count(".") + 1)}
    found = set()
    for name in named:
        parts = name.split(".")
        found |= {".".join(parts[:k]) for k in range(1, len(parts))} - ancestors
        found.add(name)
    return {name for name in found if name in modules and name != module}


def import_graph() -> dict[str, set[str]]:
    """Module → the package's modules its import-time statements run."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        statements = _import_time_statements(ast.parse(path.read_text(), str(path)).body)
        graph[module] = set().union(*(_targets(module, path.name == "__init__.py", s, modules) for s in statements))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.mark.slow
def test_module_level_imports_form_no_cycle() -> None:
    """A cycle would fail or not depending on which module is imported first, so check the graph
    itself rather than one import order."""
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_a_from_import_of_a_package_name_counts_its_init_and_its_parents() -> None:
    modules = dict.fromkeys(["edgenas", "edgenas.cli", "edgenas.cli.common", "edgenas.cost", "edgenas.cost.model"],
                            Path())
    stmt = ast.parse("from ..cost import CostModel").body[0]
    assert _targets("edgenas.cli.common", False, stmt, modules) == {"edgenas.cost"}
    stmt = ast.parse("from ..cost.model import CostModel").body[0]
    assert _targets("edgenas.cli.common", False, stmt, modules) == {"edgenas.cost", "edgenas.cost.model"}
    stmt = ast.parse("from . import common").body[0]
    assert _targets("edgenas.cli", True, stmt, modules) == {"edgenas.cli.common"}


def test_a_name_a_lazy_package_exports_counts_the_submodule_it_loads() -> None:
    modules = _modules()
    stmt = ast.parse("from ..deploy import structure_graph, plan_memory").body[0]
    assert _targets("edgenas.cost.memory", False, stmt, modules) == {
        "edgenas.deploy", "edgenas.deploy.quantize", "edgenas.deploy.plan"}
