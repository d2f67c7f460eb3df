"""Compile a rule's ``when:`` into a condition tree, and the tree into one Python function.

The tree (:class:`Leaf` for one operator on one signal, :class:`Group` for
``all``/``any``/``not``/``segment``) is plain data: what a condition reads, what it
costs, where it was written and what it admits. Evaluating it is always generated
code (:mod:`smalldata.rules.codegen`): a node's :attr:`~Node.test` is one function
that reads the signals itself, written and compiled the first time it is asked for.
The engine asks only the rule's root; traces (``explain``) ask the nodes below it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from smalldata.problems import Position, Problem, did_you_mean
from smalldata.rules.operators import OPERATORS, Compiled, Domain, Interval, Literals, compile_operator
from smalldata.signals.base import Signals, read_signal
from smalldata.signals.catalog import BUILT_IN, Catalog, SignalRef, resolve
from smalldata.yamlpos import Document, Path

COMBINATORS = ("all", "any", "not", "segment")

# rough relative cost of computing a namespace: cheap tests run first in an AND
NAMESPACE_COST = {
    "page": 1, "time": 1, "consent": 1, "visitor": 2, "history": 2, "campaign": 2,
    "device": 5, "basket": 6, "geo": 6, "user": 8,
}  # fmt: skip


@dataclass(frozen=True)
class Failure:
    """Why a condition did not hold: the condition in words and the value seen."""

    condition: str
    actual: Any = None
    signal: str | None = None


@dataclass(eq=False)
class Node:
    """A compiled condition: what it reads and costs, and (generated on first use) its test."""

    label: str
    reads: frozenset[str] = frozenset()
    cost: int = 0
    position: Position | None = None
    _test: Any = field(default=None, init=False, repr=False)

    @property
    def test(self) -> Any:
        """``test(signals) -> bool``: this condition as one generated function (never raises)."""
        if self._test is None:
            from smalldata.rules.codegen import compile_test

            self._test = compile_test(self)
        return self._test

    def explain(self, signals: Signals) -> Failure | None:
        """``None`` when the condition holds, else the first reason it does not."""
        return None if self.test(signals) else Failure(self.label)

    def leaves(self) -> Iterator[Leaf]:
        return iter(())


@dataclass(eq=False)
class Always(Node):
    """The condition of a rule without ``when``."""


@dataclass(eq=False)
class Invalid(Node):
    """A condition with a problem (reported when loading); it never holds."""


@dataclass(eq=False)
class Leaf(Node):
    """One operator on one signal (or on one key of a mapping signal)."""

    signal: str = ""  # the name as written: history.category_views.shoes
    base: str = ""  # the name signals are asked for: history.category_views
    key: str | None = None  # the key into the mapping, if any
    missing: Any = None  # what an absent key reads as (0 for view counts)
    operator: str = ""
    compiled: Compiled | None = None

    @property
    def null_aware(self) -> bool:
        return self.compiled is not None and self.compiled.null_aware

    @property
    def domain(self) -> Domain | None:
        return self.compiled.domain if self.compiled is not None else None

    @property
    def plain(self) -> bool:
        """A comparison on a whole signal that is false for an unknown value (what the rule index keys on)."""
        compiled = self.compiled
        return self.key is None and compiled is not None and not compiled.needs_now and not compiled.null_aware

    def value(self, signals: Signals) -> Any:
        """The value this leaf compares, as the test reads it."""
        return read_signal(signals, self.base, self.key, self.missing)

    def explain(self, signals: Signals) -> Failure | None:
        if self.test(signals):
            return None
        return Failure(self.label, self.value(signals), self.signal)

    def leaves(self) -> Iterator[Leaf]:
        yield self


@dataclass(eq=False)
class Group(Node):
    """``all``, ``any``, ``not`` or a named ``segment`` over child conditions."""

    kind: str = "all"
    children: list[Node] = field(default_factory=list)
    name: str = ""  # a segment's name

    def explain(self, signals: Signals) -> Failure | None:
        if self.test(signals):
            return None
        if self.kind in ("all", "segment"):
            for child in self.children:
                failure = child.explain(signals)
                if failure is not None:
                    return failure
            return Failure(self.label)
        if self.kind == "any":
            reasons = [child.explain(signals) for child in self.children]
            first = next((r for r in reasons if r is not None), None)
            words = "; ".join(r.condition for r in reasons if r is not None)
            return Failure(f"none of: {words}", first.actual if first else None, first.signal if first else None)
        inner = self.children[0]
        leaves = list(inner.leaves())
        if not inner.test(signals):  # the negation failed only because a value is unknown
            unknown = next((leaf.signal for leaf in leaves if not leaf.null_aware and leaf.value(signals) is None),
                           None)  # fmt: skip
            return Failure(f"not ({inner.label}), but {unknown} is unknown", None, unknown)
        if not leaves:
            return Failure(f"not ({inner.label})")
        return Failure(f"not ({inner.label})", leaves[0].value(signals), leaves[0].signal)

    def leaves(self) -> Iterator[Leaf]:
        for child in self.children:
            yield from child.leaves()


def always() -> Node:
    """The condition of a rule without ``when``."""
    return Always("always")


def all_of(children: list[Node], label: str | None = None, position: Position | None = None) -> Node:
    """AND, with the cheapest tests first."""
    if len(children) == 1 and label is None:
        return children[0]
    ordered = sorted(children, key=lambda c: c.cost)
    return Group(label or " and ".join(c.label for c in children), _reads(children), sum(c.cost for c in children),
                 position, kind="all", children=ordered)  # fmt: skip


def any_of(children: list[Node], position: Position | None = None) -> Node:
    """OR, with the cheapest tests first."""
    ordered = sorted(children, key=lambda c: c.cost)
    label = "any of (" + "; ".join(c.label for c in children) + ")"
    return Group(label, _reads(children), sum(c.cost for c in children), position, kind="any", children=ordered)


def not_of(child: Node, position: Position | None = None) -> Node:
    """NOT that never matches an unknown value (README.md, "Signals": only ``exists: false`` does).

    ``not: {user.tier: gold}`` holds for a known tier other than gold, not for a
    visitor whose tier is unknown: the negation also requires every value its
    null-rejecting conditions read to be known.
    """
    return Group(f"not ({child.label})", child.reads, child.cost, position, kind="not", children=[child])


def _reads(children: list[Node]) -> frozenset[str]:
    return frozenset().union(*(c.reads for c in children))


def unknown_signal_message(name: str, catalog: Catalog = BUILT_IN) -> str:
    if name in catalog.namespaces:
        example = catalog.names(name)[0]
        return f"'{name}' is a namespace; name one of its signals, such as '{example}'"
    return f"unknown signal '{name}'{did_you_mean(name, [*catalog.specs, *COMBINATORS])}"


class ConditionCompiler:
    """Compiles conditions of one ruleset, sharing named segments and collecting problems."""

    def __init__(self, segments: Mapping[str, tuple[Any, Document, Path]], zone: ZoneInfo,
                 catalog: Catalog = BUILT_IN) -> None:
        self.segment_sources = segments
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
    return did_you_mean(op, list(OPERATORS))


def impossible(node: Node) -> str | None:
    """A reason why an AND of single-signal conditions can never hold, if there is an obvious one."""
    by_signal: dict[str, list[Leaf]] = defaultdict(list)
    for child in conjuncts(node):
        if isinstance(child, Leaf) and child.domain is not None:
            by_signal[child.signal].append(child)
    for signal, leaves in by_signal.items():
        reason = _contradiction(signal, [leaf.domain for leaf in leaves if leaf.domain is not None])
        if reason:
            return reason
    return None


def conjuncts(node: Node) -> Iterator[Node]:
    """The conditions that must all hold for ``node`` to hold (``all`` groups and segments opened up)."""
    if isinstance(node, Group) and node.kind in ("all", "segment"):
        for child in node.children:
            yield from conjuncts(child)
    else:
        yield node


def _contradiction(signal: str, domains: list[Domain]) -> str | None:
    values: frozenset[Any] | None = None
    excluded: set[Any] = set()
    ref = resolve(signal)
    spec = ref.value_spec if ref else None
    interval = Interval(
        spec.lower if spec and spec.lower is not None else -math.inf,
        spec.upper if spec and spec.upper is not None else math.inf,
    )
    nulls = {d.null for d in domains if d.null is not None}
    if True in nulls and (False in nulls or any(d.values or d.interval for d in domains)):
        return f"{signal} cannot be unknown and known at once"
    for domain in domains:
        if domain.values is not None:
            values = domain.values if values is None else values & domain.values
        excluded |= domain.excluded
        if domain.interval is not None:
            interval = interval.meet(domain.interval)
    if interval.empty:
        return f"no value of {signal} satisfies all of its limits"
    if values is not None:
        left = {v for v in values if v not in excluded and (not _is_number(v) or interval.admits(v))}
        if not left:
            return f"no value of {signal} satisfies all of its conditions"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
