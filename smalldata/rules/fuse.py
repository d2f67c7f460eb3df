"""Fold a compiled condition tree into one generated function.

The tree of closures in :mod:`smalldata.rules.conditions` costs a Python call
per node and per predicate on every request. For the engine's hot path the tree
is also written out as a single expression — ``get("page.category") == 'coffee'
and (get("visitor.visits") >= 3 ...)`` — and compiled once, at load time, so a
rule's whole condition runs in one frame. Only plain comparisons are written
inline (``eq``, ``ne``, ``in``, ``not_in``, ``gt``… ``between`` on a whole
signal, with the same unknown-never-matches rule); every other leaf and every
``not`` calls its own closure, so the semantics are the tree's by construction.
The tree stays for traces (``explain``) and checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smalldata.rules.conditions import Group, Leaf, Node
from smalldata.signals.base import Signals

Test = Callable[[Signals], bool]

# Comparisons of a number literal with a value of another type (a provider bug)
# go to the predicate, which knows to answer False rather than raise.
_NUMBERS = frozenset({int, float, bool})
_ORDERED = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_METHODS = {"starts_with": "startswith", "ends_with": "endswith"}
_PLAIN = frozenset({list, tuple, set, frozenset})
_EQUALITY = {"eq": "v == {c}", "not_eq": "not v == {c}", "is": "v is {c}", "not_is": "v is not {c}",
             "in": "v in {c}", "not_in": "v not in {c}"}  # fmt: skip
MAX_NODES = 200  # deeper trees keep their closures (the parser has limits too)


def fuse(node: Node) -> Test | None:
    """One function equivalent to ``node.test``; ``None`` when the tree is not worth or able to fold."""
    writer = _Writer()
    try:
        body = writer.expression(node)
    except _TooBig:
        return None
    if writer.inlined == 0:
        return None  # nothing gained: the closures are as good
    names = ", ".join(f"c{i}" for i in range(len(writer.constants)))
    source = "\n".join([
        f"def make(NUMBERS, PLAIN, {names}):",
        "    def test(s):",
        "        get = s.get",
        f"        return {body}",
        "    return test",
    ])  # fmt: skip
    # No text from a rule file reaches the source: literals, names and closures are passed in as c0, c1, ...
    namespace: dict[str, Any] = {}
    exec(compile(source, "<smalldata condition>", "exec"), namespace)
    test: Test = namespace["make"](_NUMBERS, _PLAIN, *writer.constants)
    return test


def _plain(node: Node) -> bool:
    return isinstance(node, Leaf) and node.direct is not None


class _TooBig(Exception):
    pass


class _Writer:
    def __init__(self) -> None:
        self.constants: list[Any] = []
        self.nodes = 0
        self.inlined = 0

    def constant(self, value: Any) -> str:
        self.constants.append(value)
        return f"c{len(self.constants) - 1}"

    def expression(self, node: Node) -> str:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig
        if isinstance(node, Leaf):
            return self.leaf(node)
        if isinstance(node, Group) and node.kind in ("all", "any") and node.children:
            joiner = " and " if node.kind == "all" else " or "
            return "(" + joiner.join(self.expression(child) for child in node.children) + ")"
        if isinstance(node, Group) and node.kind == "not" and _plain(node.children[0]):
            # NOT of one plain leaf: the value must be known and the comparison fail (see not_of)
            leaf = node.children[0]
            assert isinstance(leaf, Leaf) and leaf.direct is not None
            name, predicate = leaf.direct
            check = self.comparison(leaf.inline, predicate)
            return f"((v := get({self.constant(name)})) is not None and not {check})"
        return f"{self.constant(node.test)}(s)"  # other nots, always, invalid: the closure itself

    def leaf(self, leaf: Leaf) -> str:
        if leaf.direct is None:
            return f"{self.constant(leaf.test)}(s)"
        name, predicate = leaf.direct
        check = self.comparison(leaf.inline, predicate)
        return f"((v := get({self.constant(name)})) is not None and {check})"

    def comparison(self, inline: tuple[str, Any] | None, predicate: Callable[[Any], bool]) -> str:
        if inline is None:
            return f"{self.constant(predicate)}(v)"
        op, literal = inline
        self.inlined += 1
        if op in _EQUALITY:
            return _EQUALITY[op].format(c=self.constant(literal))
        fallback = f"{self.constant(predicate)}(v)"
        if op in _METHODS:
            return f"(v.{_METHODS[op]}({self.constant(literal)}) if type(v) is str else {fallback})"
        if op == "has":  # a list signal holding an item: == comparisons, nothing hashed
            return f"({self.constant(literal)} in v if type(v) in PLAIN else {fallback})"
        if op == "between":
            low, high = literal
            return f"({self.constant(low)} <= v <= {self.constant(high)} if type(v) in NUMBERS else {fallback})"
        return f"(v {_ORDERED[op]} {self.constant(literal)} if type(v) in NUMBERS else {fallback})"
