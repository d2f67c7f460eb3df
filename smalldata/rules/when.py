"""Read a rule's ``when:`` (and the named segments it uses) into a condition tree, reporting every problem.

The tree is :mod:`smalldata.rules.conditions`; each signal is looked up in the
shop's catalogue (built-in and declared signals) and each operator compiled by
:mod:`smalldata.rules.operators`. Problems are collected with their place in the
file; a condition with a problem never holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from smalldata.foundation.problems import Position, Problem, did_you_mean
from smalldata.foundation.yamlpos import Document, Path
from smalldata.rules.conditions import Group, Invalid, Leaf, Node, all_of, always, any_of, impossible, not_of
from smalldata.rules.lists import LIST_OPERATORS, compile_in_list
from smalldata.rules.literals import OPERATORS, Literals
from smalldata.rules.operators import compile_operator
from smalldata.signals.catalog import BUILT_IN, SignalCatalog, SignalRef

COMBINATORS = ("all", "any", "not", "segment")

# rough relative cost of computing a namespace: cheap tests run first in an AND
NAMESPACE_COST = {
    "page": 1, "time": 1, "consent": 1, "visitor": 2, "history": 2, "campaign": 2,
    "device": 5, "basket": 6, "geo": 6, "user": 8,
}  # fmt: skip


def unknown_signal_message(name: str, catalog: SignalCatalog = BUILT_IN) -> str:
    if name in catalog.namespaces:
        example = catalog.names(name)[0]
        return f"'{name}' is a namespace; name one of its signals, such as '{example}'"
    return f"unknown signal '{name}'{did_you_mean(name, [*catalog.specs, *COMBINATORS])}"


class ConditionCompiler:
    """Compiles conditions of one ruleset, sharing named segments and collecting problems."""

    def __init__(self, segments: Mapping[str, tuple[Any, Document, Path]], zone: ZoneInfo,
                 catalog: SignalCatalog = BUILT_IN, lists: Mapping[str, frozenset[str]] | None = None) -> None:
        self.segment_sources = segments
        self.lists = lists or {}  # the named lists of the rule files (``in_list: vip``)
        self.zone = zone
        self.catalog = catalog
        self.problems: list[Problem] = []
        self._segments: dict[str, Node] = {}
        self._compiling: list[str] = []

    # -- entry points -------------------------------------------------------

    def compile(self, data: Any, doc: Document, path: Path) -> Node:
        """Compile the condition at ``path``; problems are collected, a failing node stands in."""
        if data is None or data == {}:
            return always()
        node = self._condition(data, doc, path)
        self._check_possible(node, doc.at(path))
        return node

    def segment(self, name: str) -> Node:
        """The compiled condition of a named segment (compiled once, cycles reported)."""
        if name in self._segments:
            return self._segments[name]
        data, doc, path = self.segment_sources[name]
        self._compiling.append(name)
        try:
            node = self.compile(data, doc, path)
        finally:
            self._compiling.pop()
        self._segments[name] = node
        return node

    # -- the grammar --------------------------------------------------------

    def _condition(self, data: Any, doc: Document, path: Path) -> Node:
        if isinstance(data, list):
            return self._combine("all", data, doc, path)
        if not isinstance(data, dict):
            return self._fail(doc.at(path), "a condition is a mapping such as {visitor.returning: true}")
        parts: list[Node] = []
        for key, value in data.items():
            where = (*path, key)
            if key in ("all", "any"):
                parts.append(self._combine(key, value, doc, where))
            elif key == "not":
                parts.append(not_of(self._condition(value, doc, where), doc.key_at(where)))
            elif key == "segment":
                parts.append(self._segment_ref(value, doc, where))
            else:
                parts.append(self._signal(key, value, doc, where))
        if not parts:
            return always()
        return all_of(parts, position=doc.at(path))

    def _combine(self, kind: str, items: Any, doc: Document, path: Path) -> Node:
        if not isinstance(items, list) or not items:
            return self._fail(doc.at(path), f"'{kind}' takes a non-empty list of conditions")
        children = [self._condition(item, doc, (*path, i)) for i, item in enumerate(items)]
        if kind == "all":
            return all_of(children, "all of (" + "; ".join(c.label for c in children) + ")", doc.at(path))
        return any_of(children, doc.at(path))

    def _segment_ref(self, value: Any, doc: Document, path: Path) -> Node:
        position = doc.at(path)
        if not isinstance(value, str):
            return self._fail(position, "segment takes the name of one segment")
        if value not in self.segment_sources:
            hint = did_you_mean(value, list(self.segment_sources))
            return self._fail(position, f"unknown segment '{value}'{hint}")
        if value in self._compiling:
            cycle = " → ".join([*self._compiling[self._compiling.index(value):], value])
            return self._fail(position, f"segment cycle: {cycle}")
        inner = self.segment(value)
        return Group(f"segment {value}", inner.reads, inner.cost, position, kind="segment", children=[inner],
                     name=value)  # fmt: skip

    def _signal(self, name: str, value: Any, doc: Document, path: Path) -> Node:
        ref = self.catalog.resolve(name)
        if ref is None:
            return self._fail(doc.key_at(path), unknown_signal_message(name, self.catalog))
        lit = Literals(ref, self.zone)
        if isinstance(value, dict):
            return self._operators(ref, lit, value, doc, path)
        if isinstance(value, list):
            op = "contains_any" if ref.kind == "list" else "in"
            return self._leaf(ref, lit, op, value, doc, path)
        op = "contains" if ref.kind == "list" and value is not None else "eq"
        return self._leaf(ref, lit, op, value, doc, path)

    def _operators(self, ref: SignalRef, lit: Literals, ops: dict[str, Any], doc: Document, path: Path) -> Node:
        parts: list[Node] = []
        for op, literal in ops.items():
            where = (*path, op)
            if op in LIST_OPERATORS:
                parts.append(self._leaf(ref, lit, op, literal, doc, where))
                continue
            if op not in OPERATORS:
                if ref.spec.map_of is not None and ref.key is None:
                    # history.category_views: {shoes: {gte: 3}} addresses a key of the mapping
                    parts.append(self._signal(f"{ref.name}.{op}", literal, doc, where))
                    continue
                parts.append(self._fail(doc.key_at(where), f"unknown operator '{op}'{_operator_hint(op)}"))
                continue
            parts.append(self._leaf(ref, lit, op, literal, doc, where))
        if not parts:
            return self._fail(doc.at(path), f"no operator given for {ref.name}")
        return all_of(parts, position=doc.at(path))

    def _leaf(self, ref: SignalRef, lit: Literals, op: str, literal: Any, doc: Document, path: Path) -> Node:
        position = doc.at(path)
        try:
            if op in LIST_OPERATORS:
                compiled = compile_in_list(op, literal, lit, self.lists)
            else:
                compiled = compile_operator(op, literal, lit)
        except ValueError as exc:
            return self._fail(position, str(exc))
        reads = frozenset({ref.base, "time.now"} if compiled.needs_now else {ref.base})
        cost = NAMESPACE_COST.get(ref.spec.namespace, 3) + (2 if op == "matches" else 0)
        return Leaf(compiled.label, reads, cost, position, signal=ref.name, base=ref.base, key=ref.key,
                    missing=ref.missing, operator=op, compiled=compiled)  # fmt: skip

    def _fail(self, position: Position, message: str) -> Node:
        self.problems.append(Problem(position, message))
        return Invalid("invalid condition", position=position)

    # -- conditions that can never match --------------------------------------

    def _check_possible(self, node: Node, position: Position) -> None:
        reason = impossible(node)
        if reason:
            self.problems.append(Problem(node.position or position, f"condition can never match: {reason}"))


# words people reach for, mapped to the operator they mean
OPERATOR_SYNONYMS = {
    "greater_than": "gt", "greater": "gt", "more_than": "gt", "above": "gt", "over": "gt",
    "greater_or_equal": "gte", "at_least": "gte", "min": "gte", "less_than": "lt", "less": "lt", "below": "lt",
    "under": "lt", "less_or_equal": "lte", "at_most": "lte", "max": "lte", "equals": "eq", "is": "eq",
    "equal": "eq", "not_equal": "ne", "not": "ne", "is_not": "ne", "one_of": "in", "none_of": "not_in",
    "regex": "matches", "match": "matches", "startswith": "starts_with", "prefix": "starts_with",
    "endswith": "ends_with", "suffix": "ends_with", "has": "contains", "includes": "contains",
    "range": "between", "before": "lt", "after": "gt", "newer_than": "within", "since": "within",
}


def _operator_hint(op: str) -> str:
    if op.lower() in OPERATOR_SYNONYMS:
        return f" — did you mean '{OPERATOR_SYNONYMS[op.lower()]}'?"
    return did_you_mean(op, [*OPERATORS, *LIST_OPERATORS])
