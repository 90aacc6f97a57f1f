"""The house rules a reader relies on (issue 13): no source file over about 500 lines, and
no import circle between the package's modules, counting imports made inside functions
too (``Report._repr_html_`` importing ``render`` made a circle of 13 files once)."""

from __future__ import annotations

import ast
import pathlib

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "shapetrace"
MAX_LINES = 500


def _sources(*suffixes: str) -> list[pathlib.Path]:
    return sorted(p for s in suffixes for p in PACKAGE.rglob(f"*{s}") if "__pycache__" not in p.parts)


def test_no_source_file_is_over_500_lines():
    files = _sources(".py", ".js", ".css", ".html")
    assert len(files) > 100
    long = {str(p.relative_to(SRC)): n for p in files
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these by job: {long}"


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports, anywhere in its text."""
    paths = {_module_name(p): p for p in _sources(".py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:  # "from . import ops" imports the module ops
                    found.add(f"{target}.{a.name}" if f"{target}.{a.name}" in paths else target)
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_relative_and_function_level_imports():
    graph = import_graph()
    assert "shapetrace.trace.meta_memo" in graph["shapetrace.trace.values"]  # from . import meta_memo
    assert "shapetrace.core.records" in graph["shapetrace.trace.recorder"]  # from ..core.records import
    assert len(graph) > 100


def test_no_import_circle():
    assert circles(import_graph()) == []
