"""Check that smalldata's imports flow one way: no import from a later layer, no cycle.

    python scripts/imports.py          # prints every back-edge and cycle; exit 1 if there is one

The layers are listed in ``LAYERS``, earliest first (docs/architecture.md draws them). A
module may import from its own layer and the layers before it, never from a later one;
and no group of modules may import each other in a circle. Imports made only for type
annotations (under ``if TYPE_CHECKING:``) count too: they are dependencies a reader
has to follow all the same. An import inside a function counts as well.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "smalldata"

#: Earliest first. A module belongs to the first layer one of whose prefixes it starts with.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("smalldata.foundation", "smalldata.decision")),
    ("state", ("smalldata.state",)),
    ("signals", ("smalldata.signals",)),
    ("rules", ("smalldata.rules",)),
    ("catalogue", ("smalldata.catalogue",)),
    ("recommend", ("smalldata.recommend",)),
    ("events", ("smalldata.events",)),
    ("preview", ("smalldata.preview",)),
    ("delivery", ("smalldata.delivery",)),
    ("settings", ("smalldata.settings",)),
    ("app", ("smalldata.app", "smalldata.middleware", "smalldata.jinja", "smalldata.conversions", "smalldata.django")),
    ("tools", ("smalldata.tools", "smalldata.cli")),
    ("package", ("smalldata",)),
]


def layer_of(module: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    raise SystemExit(f"{module} is in no layer: add it to LAYERS in scripts/imports.py")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """The smalldata modules ``module`` imports, with the line of each import."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(alias.name, known, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield from _known(submodule if submodule in known else base, known, node.lineno)


def _known(name: str, known: set[str], line: int) -> Iterator[tuple[str, int]]:
    while name and name not in known:
        name = name.rpartition(".")[0]
    if name:
        yield name, line


def check() -> list[str]:
    found = modules()
    known = set(found)
    graph: dict[str, set[str]] = {}
    problems: list[str] = []
    for module, path in found.items():
        graph[module] = set()
        for target, line in imports(module, path, known):
            if target == module or (module.startswith(target + ".") and found[target].name == "__init__.py"):
                continue  # a package's own __init__ (its parent) is imported with it anyway
            graph[module].add(target)
            if layer_of(target) > layer_of(module):
                problems.append(f"{path.relative_to(ROOT)}:{line}: {module} ({LAYERS[layer_of(module)][0]}) imports "
                                f"{target} ({LAYERS[layer_of(target)][0]}), a later layer")
    problems += [f"cycle: {' -> '.join([*cycle, cycle[0]])}" for cycle in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

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
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} import problem(s): see the layers in scripts/imports.py and docs/architecture.md")
        return 1
    print(f"imports flow one way through {len(LAYERS)} layers; no cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
