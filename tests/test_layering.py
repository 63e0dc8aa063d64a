"""The house's layering, checked over every import of the project (issue 13): data flows one way.

Floors, bottom to top (README "Layout"): geo → warehouse | appdb → pipelines | demo → hometown → ui → pages → serving →
app | serve | bench.
A module may import its own package and the floors below it, never a floor above and never another package of its
own floor. Every import counts: at module level, inside a function or class, under ``if TYPE_CHECKING``, and
``importlib.import_module("…")`` / ``__import__("…")`` with a literal name — a lower room cannot reach up by any route.
Besides: no cycle between top-level packages, no cycle between modules (strongly connected components of the module
graph), and Streamlit and pydeck only in ui/, pages/, app.py, serve.py (and the benchmark, which drives the app).

The checker is plain ``ast``; the second half of this file feeds it small synthetic trees to show it fails.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom → top. Packages on one floor may not import each other.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("geo",),
    ("warehouse", "appdb"),  # appdb: the app's own tables (issue 18), beside the warehouse, never importing it
    ("pipelines", "demo"),
    ("hometown",),
    ("ui",),
    ("pages",),
    # Several workers behind nginx (issue 17): runs serve.py as processes, imports nothing of the app; one floor of
    # its own just under the entry points so that bench/ (the load benchmark) may use it.
    ("serving",),
    ("app", "serve", "bench"),
)
DISPLAY_LIBRARIES = ("streamlit", "pydeck")
DISPLAY_ALLOWED = ("ui", "pages", "app", "serve", "bench")


def floor_of(package: str) -> int:
    for i, names in enumerate(FLOORS):
        if package in names:
            return i
    raise KeyError(package)


def project_modules(root: Path) -> dict[str, Path]:
    """Module name → file, for every .py of the floors' packages (and app.py)."""
    modules: dict[str, Path] = {}
    for package in (p for floor in FLOORS for p in floor):
        single = root / f"{package}.py"
        if single.is_file():
            modules[package] = single
        folder = root / package
        if folder.is_dir():
            for path in sorted(folder.rglob("*.py")):
                parts = path.relative_to(root).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                modules[".".join(parts)] = path
    return modules


def _literal_import(call: ast.Call) -> str | None:
    """The module named by ``importlib.import_module("x")`` or ``__import__("x")`` with a literal string."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name in ("import_module", "__import__") and call.args and isinstance(call.args[0], ast.Constant) \
            and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, at any depth. ``from a import b`` is ``a.b`` when that
    is a module of the project, else ``a``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.append((full if full in known else target, node.lineno))
        elif isinstance(node, ast.Call):
            name = _literal_import(node)
            if name:
                found.append((name, node.lineno))
    return found


def import_graph(root: Path) -> tuple[dict[str, Path], dict[str, list[tuple[str, int]]]]:
    modules = project_modules(root)
    known = set(modules)
    return modules, {m: imports_of(m, p, known) for m, p in modules.items()}


def _top(name: str) -> str:
    return name.split(".")[0]


def _project_target(name: str, known: set[str]) -> str | None:
    """The project module an imported name refers to (its longest known prefix), or None for outside libraries."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in known:
            return candidate
    return None


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the components of more than one node, or a node that imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
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
                if len(component) > 1 or node in graph.get(node, ()):
                    out.append(sorted(component))
    return out


def layering_problems(root: Path) -> list[str]:
    """Every breach of the rules in the module docstring, one line each (empty: the house is in order)."""
    modules, graph = import_graph(root)
    known = set(modules)
    problems: list[str] = []
    module_edges: dict[str, set[str]] = {m: set() for m in modules}
    package_edges: dict[str, set[str]] = {}
    for module, imported in graph.items():
        here = _top(module)
        where = modules[module].relative_to(root)
        for name, line in imported:
            if _top(name) in DISPLAY_LIBRARIES and here not in DISPLAY_ALLOWED:
                problems.append(f"{where}:{line}: {_top(name)} imported below ui/ ({module} imports {name})")
            target = _project_target(name, known)
            if target is None:
                continue
            there = _top(target)
            if target != module:
                module_edges[module].add(target)
            elif _top(name) == here:
                module_edges[module].add(module)  # a module importing itself
            if there == here:
                continue
            package_edges.setdefault(here, set()).add(there)
            if floor_of(there) > floor_of(here):
                problems.append(f"{where}:{line}: upward import: {module} ({here}, floor {floor_of(here)}) imports "
                                f"{target} ({there}, floor {floor_of(there)})")
            elif floor_of(there) == floor_of(here):
                problems.append(f"{where}:{line}: sideways import between packages of one floor: {module} imports "
                                f"{target}")
    for component in strongly_connected(package_edges):
        problems.append(f"cycle between packages: {' ↔ '.join(component)}")
    for component in strongly_connected(module_edges):
        problems.append(f"cycle between modules: {' ↔ '.join(component)}")
    return problems


# ------------------------------------------------------------------------------------------------ the project


def test_the_project_keeps_its_layering():
    problems = layering_problems(ROOT)
    assert not problems, "\n".join(problems)


def test_every_package_of_the_project_is_on_a_floor():
    """A new top-level package or module must be given a floor here (and in README's Layout), or it is never
    checked."""
    packaged = {line.strip().strip('",').split(".")[0]
                for line in (ROOT / "pyproject.toml").read_text(encoding="utf-8").split("packages = [", 1)[1]
                .split("]", 1)[0].replace("\n", " ").split(",") if line.strip()}
    floors = {p for floor in FLOORS for p in floor}
    assert packaged <= floors, f"packages without a floor: {sorted(packaged - floors)}"
    scripts = {p.stem for p in ROOT.glob("*.py")}  # top-level modules such as app.py
    assert scripts <= floors, f"top-level modules without a floor: {sorted(scripts - floors)}"
    checked = project_modules(ROOT)
    assert {"warehouse.store", "pipelines.kinds", "hometown.progress.overview", "ui.nav", "pages.overview", "app",
            "demo.generate", "bench.queries"} <= set(checked)


# ---------------------------------------------------------------------------------- the checker can fail


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for folder in {p.parent for p in tmp_path.rglob("*.py")}:
        if folder != tmp_path and not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text("", encoding="utf-8")
    return tmp_path


CLEAN = {
    "geo/text.py": "import re\n",
    "warehouse/db.py": "from geo import text\n",
    "pipelines/ingest.py": "from warehouse import db\n",
    "hometown/progress/overview.py": "from warehouse.db import query\nfrom pipelines import ingest\n",
    "ui/common.py": "import streamlit as st\nfrom hometown.progress import overview\n",
    "pages/overview.py": "from ui import common\n",
    "app.py": "import streamlit\nfrom ui import common\n",
}


def test_a_clean_synthetic_tree_passes(tmp_path):
    assert layering_problems(_tree(tmp_path, CLEAN)) == []


@pytest.mark.parametrize("extra, expected", [
    # An upward import hidden in a function is still an upward import.
    ({"warehouse/store.py": "def f():\n    from hometown.progress import overview\n"}, "upward import"),
    ({"pipelines/cli.py": "def f():\n    import hometown.progress.overview\n"}, "upward import"),
    ({"pipelines/cli.py": "import importlib\nimportlib.import_module('hometown.progress.overview')\n"},
     "upward import"),
    ({"geo/names.py": "from ..warehouse import db\n"}, "upward import"),
    ({"demo/generate.py": "from pipelines import ingest\n"}, "sideways import"),
    ({"hometown/progress/map.py": "import pydeck\n"}, "pydeck imported below ui/"),
    ({"warehouse/db.py": "from geo import text\nfrom streamlit import cache_data\n"}, "streamlit imported below ui/"),
    # Two rooms of one floor that import each other: a module cycle, at any depth.
    ({"hometown/a.py": "from hometown import b\n", "hometown/b.py": "def f():\n    from hometown import a\n"},
     "cycle between modules: hometown.a ↔ hometown.b"),
    ({"pipelines/x.py": "from . import y\n", "pipelines/y.py": "from .x import thing\n"},
     "cycle between modules: pipelines.x ↔ pipelines.y"),
])
def test_the_checker_fails_on_a_breach(tmp_path, extra, expected):
    problems = layering_problems(_tree(tmp_path, CLEAN | extra))
    assert any(expected in p for p in problems), problems


def test_a_package_cycle_is_reported_even_on_one_floor(tmp_path):
    tree = _tree(tmp_path, CLEAN | {"pipelines/a.py": "from demo import b\n", "demo/b.py": "from pipelines import a\n"})
    problems = layering_problems(tree)
    assert "cycle between packages: demo ↔ pipelines" in problems, problems


def test_strongly_connected_components():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()}
    assert sorted(strongly_connected(graph)) == [["a", "b", "c"], ["e"]]
