"""The layers of DESIGN.md as a test: no import cycle, and each layer imports only those above it.

Imports are read from the source (``ast``), so the test sees every module whether or not a test
imports it. Module-level imports make the graph; an import inside a function is *lazy* and is
checked for direction too, with the few deliberate exceptions listed (and explained) below.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "threeml"

#: The layers, first to last; a module may import its own layer and those before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("threeml.errors", "threeml._version", "threeml.settings"),
    ("threeml.records",),
    ("threeml.data",),
    ("threeml.definitions",),
    ("threeml.plugins",),
    ("threeml.engine",),
    ("threeml.metrics",),
    ("threeml.publish",),
    ("threeml.report",),
    ("threeml.cli", "threeml.testing", "threeml.docs"),
)

#: Modules kept only so that old import paths still work (each replaces itself in sys.modules
#: with its new home); they sit on top of everything.
ALIASES = {
    "threeml.codes",
    "threeml.periods",
    "threeml.schema",
    "threeml.synth",
    "threeml.demo",
    "threeml.speccase",
    "threeml.hookspecs",
    "threeml.registry",
    "threeml.evaluate",
    "threeml.reference",
    "threeml.explain",
    "threeml.results",
    "threeml.compare",
    "threeml.measures",
    "threeml.disclosure",
    "threeml.sphinxext",
    "threeml.outputs",
    "threeml.outputs.counts",
}

#: Lazy imports that go against the layers on purpose, and why.
LAZY_EXCEPTIONS = {
    # threeml's own plugin supplies what later layers implement (the proportion measure, the
    # reference test of the built-in criteria), as any plugin would; it imports them when its
    # hooks are called so that importing the registry stays cheap.
    ("threeml.plugins.builtin", "threeml.metrics"),
    ("threeml.plugins.builtin", "threeml.engine"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int:
    if module in ALIASES:
        return len(LAYERS)
    if module == "threeml":  # the package's front door re-exports the records and hookimpl
        return len(LAYERS) - 1
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in this test")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path, known: set[str]) -> tuple[set[str], set[str]]:
    """The threeml modules ``module`` imports at module level, and those it imports lazily."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    lazy: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def targets(node: ast.AST) -> set[str]:
        found = set()
        if isinstance(node, ast.Import):
            found = {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
        return {name for name in found if name == "threeml" or name.startswith("threeml.")}

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                (lazy if in_function else top).update(targets(child))
                continue
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(tree, False)
    return top, lazy


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    modules = _modules()
    known = set(modules)
    top, lazy = {}, {}
    for name, path in modules.items():
        top[name], lazy[name] = _imports(name, path, known)
    return top, lazy


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_there_is_no_import_cycle_in_threeml() -> None:
    top, _ = _graph()
    assert _cycles(top) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_each_layer_imports_only_the_layers_above_it() -> None:
    top, lazy = _graph()
    wrong = []
    for module, targets in top.items():
        for target in targets:
            if _layer(target) > _layer(module):
                wrong.append(f"{module} imports {target}")
    for module, targets in lazy.items():
        for target in targets:
            if _layer(target) > _layer(module) and not any(
                module == m and (target == t or target.startswith(t + "."))
                for m, t in LAZY_EXCEPTIONS
            ):
                wrong.append(f"{module} imports {target} (inside a function)")
    assert sorted(wrong) == []


@pytest.mark.parametrize(
    "module", ["threeml.registry", "threeml.plugins.registry", "threeml.definitions", "threeml"]
)
def test_the_registry_and_the_definitions_do_not_load_the_engine(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in ('ibis', 'duckdb') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("command", ["plugins", "definitions"])
def test_listing_plugins_and_definitions_does_not_load_the_engine(command: str) -> None:
    code = (
        "import sys\n"
        "from threeml.cli import main\n"
        f"status = main([{command!r}, '--format', 'json'])\n"
        "print(status, sorted(m for m in ('ibis', 'duckdb') if m in sys.modules), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "0 []"
