"""The package's import graph: no cycle between modules, and every import goes down the layers
that docs/architecture.md documents.

The graph is read with ``ast`` from the source files (every ``import`` and ``from ... import``
of the package, at module level or inside functions), so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from common import PROJECT_ROOT

PACKAGE = "inference_scaffolder"
PACKAGE_DIR = PROJECT_ROOT / "src" / PACKAGE
ARCHITECTURE_DOC = PROJECT_ROOT / "docs" / "architecture.md"

# Low to high. A module may import from its own layer or a lower one, never a higher one.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "faults", "paths", "safe_fs", "yamlio", "go_yaml", "confine", "tools", "gitcli",
     "chart"),
    ("answers",),
    ("vcs", "publish", "verify", "rendering"),
    ("service", "backstage"),
    ("checks",),
    ("generation", "platform_pr", "registration"),
    ("lifecycle",),
    ("cli",),
)
LAYER_OF = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    """The layer unit a module belongs to: its sub-package, or the top-level module."""
    parts = module.split(".")
    return "" if len(parts) == 1 else parts[1]


def imported_modules(path: Path, module: str) -> set[str]:
    """Every module of the package that ``path`` imports (names resolved to modules)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(PACKAGE)}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith(PACKAGE):
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in ALL_MODULES else base)
    return {m for m in found if m in ALL_MODULES and m != module}


ALL_MODULES = {module_name(p) for p in PACKAGE_DIR.rglob("*.py")}
GRAPH = {module_name(p): imported_modules(p, module_name(p)) for p in PACKAGE_DIR.rglob("*.py")}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle, as the list of modules around it, or [] (iterative DFS)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in sorted(graph):
        if state.get(root):
            continue
        path: list[str] = []
        stack: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        state[root] = 1
        path.append(root)
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            nxt = pending.pop()
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return []


def test_the_package_has_no_import_cycle() -> None:
    assert find_cycle(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """Guard for the test above: a graph with a cycle is reported, one without is not."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_every_module_belongs_to_a_documented_layer() -> None:
    units = {unit_of(m) for m in ALL_MODULES} - {""}
    assert units <= set(LAYER_OF), f"not in any layer: {sorted(units - set(LAYER_OF))}"


@pytest.mark.parametrize("module", sorted(ALL_MODULES))
def test_imports_go_down_the_layers(module: str) -> None:
    unit = unit_of(module)
    if not unit:  # the package's own __init__: version only
        assert GRAPH[module] == set()
        return
    upward = sorted(
        target for target in GRAPH[module]
        if unit_of(target) and LAYER_OF[unit_of(target)] > LAYER_OF[unit]
    )
    assert upward == [], f"{module} (layer {LAYER_OF[unit]}) imports higher layers: {upward}"


def test_checks_never_import_generation_and_nothing_below_cli_imports_cli() -> None:
    """The two rules the layer order exists for, spelled out."""
    for module, targets in GRAPH.items():
        if unit_of(module) == "checks":
            assert not {t for t in targets if unit_of(t) == "generation"}, module
        if unit_of(module) != "cli":
            assert not {t for t in targets if unit_of(t) == "cli"}, module


def test_the_architecture_document_lists_the_same_layers() -> None:
    """docs/architecture.md's layer table is the one this test enforces."""
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    documented = re.findall(r"^\| *L(\d) *\| *([^|]+)\|", text, re.MULTILINE)
    table = {int(rank): {u.strip(" `") for u in units.split(",")} for rank, units in documented}
    assert table == {rank: set(units) for rank, units in enumerate(LAYERS)}
