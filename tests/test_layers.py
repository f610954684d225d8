"""The package's modules import one another one way: no cycle, and a runtime at the bottom.

The graph is read from the source (``ast``), not from ``sys.modules``: every ``import`` and
``from … import`` of ``mcp_oauth_dynamicclient``, relative ones resolved, inside functions too
(a lazy import is still a dependency), except those under ``if TYPE_CHECKING:`` (never run).
``from . import x`` imports the module ``x``; importing a package imports its ``__init__``.
The parents Python imports on the way (``a`` for ``a.b``) are not edges: every module would
otherwise be in a cycle with the package's ``__init__``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "mcp_oauth_dynamicclient"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE
RUNTIME = f"{PACKAGE}.runtime"
EXCEPTIONS = f"{PACKAGE}.exceptions"

Graph = dict[str, set[str]]


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module under ``root`` (the directory of ``package``) by its dotted name."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING`` (the test of an ``if``)."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def run_time_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements under ``node`` that can run: all but ``if TYPE_CHECKING:`` ones."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and is_type_checking(child.test):
            for branch in child.orelse:  # the ``else:`` of ``if TYPE_CHECKING:`` does run
                if isinstance(branch, ast.Import | ast.ImportFrom):
                    yield branch
                else:
                    yield from run_time_imports(branch)
        else:
            yield from run_time_imports(child)


def imported(module: str, is_package: bool, statement: ast.Import | ast.ImportFrom) -> set[str]:
    """The absolute names ``statement`` in ``module`` imports (modules, or modules' members)."""
    if isinstance(statement, ast.Import):
        return {alias.name for alias in statement.names}
    base = statement.module or ""
    if statement.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (statement.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    return {f"{base}.{alias.name}" for alias in statement.names}


def import_graph(root: Path, package: str) -> Graph:
    """For each module of ``package`` (at ``root``), the modules of the package it imports."""
    modules = module_names(root, package)
    graph: Graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for statement in run_time_imports(tree):
            for target in imported(name, path.name == "__init__.py", statement):
                # ``from a import b``: the module ``a.b`` if there is one, else ``a`` itself.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target:
                    targets.add(target)
        graph[name] = targets - {name} if path.name == "__init__.py" else targets
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """One cycle (``[a, b, …, a]``) per strongly connected component that has one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [path_through(graph, component) for component in components]


def path_through(graph: Graph, component: list[str]) -> list[str]:
    """A shortest cycle from the first module of ``component`` back to it (breadth first)."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    queue = [start]
    for node in queue:
        for target in sorted(graph[node] & members):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def reachable(graph: Graph, start: str) -> dict[str, list[str]]:
    """Every module ``start`` imports, directly or not, with one import path to it."""
    paths = {start: [start]}
    queue = [start]
    for node in queue:
        for target in sorted(graph.get(node, ())):
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    del paths[start]
    return paths


# ------------------------------------------------------------------------------ the package


def test_the_package_has_no_import_cycle() -> None:
    found = cycles(import_graph(SOURCE, PACKAGE))
    assert found == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_runtime_of_generated_code_imports_only_exceptions_and_leaf_modules() -> None:
    """``runtime`` is what generated code (ours and users') imports: the bottom layer.

    The bottom layer is ``exceptions`` and the few modules named here, which import nothing of
    the package but one another; everything the runtime reaches, directly or not, is in it.
    """
    graph = import_graph(SOURCE, PACKAGE)
    assert RUNTIME in graph, f"{RUNTIME} does not exist"
    bottom = {EXCEPTIONS} | {
        f"{PACKAGE}.{name}" for name in ("_json", "_lazy", "_converter", "_www_authenticate")
    }
    for module in bottom:
        assert set(reachable(graph, module)) <= bottom, f"{module} imports above the bottom"
    above = {
        name: " -> ".join(path)
        for name, path in reachable(graph, RUNTIME).items()
        if name not in bottom
    }
    assert above == {}, f"{RUNTIME} imports modules above it:\n" + "\n".join(above.values())


# -------------------------------------------------------------------- the walker on samples


def write_package(root: Path, files: dict[str, str]) -> Path:
    """A package ``pkg`` under ``root`` with ``files`` (relative path: source)."""
    for name, source in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "pkg"


def test_the_walker_resolves_every_kind_of_import(tmp_path: Path) -> None:
    root = write_package(
        tmp_path,
        {
            "__init__.py": "from .a import thing\nfrom . import sub\n",
            "a.py": "import os\nimport pkg.b\nfrom pkg import c as see\n",
            "b.py": "def later() -> None:\n    from .sub import inner\n",
            "c.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from . import a\nelse:\n    from .sub.inner import x\n"
            ),
            "sub/__init__.py": "from .. import c\nfrom ..sub import inner\n",
            "sub/inner.py": "from ..a import thing\nfrom .. import sub\n",
        },
    )
    assert import_graph(root, "pkg") == {
        "pkg": {"pkg.a", "pkg.sub"},
        "pkg.a": {"pkg.b", "pkg.c"},
        "pkg.b": {"pkg.sub.inner"},
        "pkg.c": {"pkg.sub.inner"},
        "pkg.sub": {"pkg.c", "pkg.sub.inner"},
        "pkg.sub.inner": {"pkg.a", "pkg.sub"},
    }


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
        ({"a": {"a"}}, [["a", "a"]]),
        (
            {"a": {"b"}, "b": {"c", "d"}, "c": {"a"}, "d": {"d", "e"}, "e": set()},
            [["d", "d"], ["a", "b", "c", "a"]],
        ),
    ],
)
def test_cycles_are_found_and_shown_as_paths(graph: Graph, expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_the_runtime_check_names_the_path_to_a_module_above(tmp_path: Path) -> None:
    root = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "exceptions.py": "",
            "leaf.py": "from .exceptions import E\n",
            "runtime.py": "from . import leaf, exceptions\nfrom .middle import m\n",
            "middle.py": "from .top import t\n",
            "top.py": "",
        },
    )
    graph = import_graph(root, "pkg")
    assert reachable(graph, "pkg.runtime") == {
        "pkg.exceptions": ["pkg.runtime", "pkg.exceptions"],
        "pkg.leaf": ["pkg.runtime", "pkg.leaf"],
        "pkg.middle": ["pkg.runtime", "pkg.middle"],
        "pkg.top": ["pkg.runtime", "pkg.middle", "pkg.top"],
    }
