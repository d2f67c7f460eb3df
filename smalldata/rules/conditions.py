"""Compile a rule's ``when:`` into plain Python callables, once, at load time.

A condition becomes a small tree of nodes. Each node carries ``test``, a
closure the engine calls on every request (no parsing, no regex compiling, no
dictionary walking), ``reads``, the signal names it may read, and ``explain``,
the slow path used only for traces: which condition failed, with what value.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from smalldata.problems import Position, Problem, did_you_mean
from smalldata.rules.operators import OPERATORS, Compiled, Domain, Interval, Literals, compile_operator
from smalldata.signals.base import Signals
from smalldata.signals.catalog import NAMESPACES, SIGNALS, SignalRef, resolve
from smalldata.yamlpos import Document, Path

Test = Callable[[Signals], bool]
COMBINATORS = ("all", "any", "not", "segment")

# rough relative cost of computing a namespace: cheap tests run first in an AND
NAMESPACE_COST = {
    "page": 1, "time": 1, "consent": 1, "visitor": 2, "history": 2, "campaign": 2,
    "device": 5, "basket": 6, "geo": 6, "user": 8,
}


@dataclass(frozen=True)
class Failure:
    """Why a condition did not hold: the condition in words and the value seen."""

    condition: str
    actual: Any = None
    signal: str | None = None


@dataclass
class Node:
    """A compiled condition."""

    test: Test
    label: str
    reads: frozenset[str] = frozenset()
    cost: int = 0
    position: Position | None = None

    def explain(self, signals: Signals) -> Failure | None:
        """``None`` when the condition holds, else the first reason it does not."""
        return None if self.test(signals) else Failure(self.label)

    def leaves(self) -> Iterator[Leaf]:
        return iter(())


@dataclass
class Leaf(Node):
    """One operator on one signal."""

    signal: str = ""
    getter: Callable[[Signals], Any] = field(default=lambda s: None)
    domain: Domain | None = None
    null_aware: bool = False
    # set when the test is "read one whole signal, reject unknown, apply predicate" (see all_of)
    direct: tuple[str, Callable[[Any], bool]] | None = None
    inline: tuple[str, Any] | None = None  # the comparison, for smalldata.rules.fuse
    items: frozenset[Any] | None = None  # a list signal must hold one of these (see Compiled.items)

    def explain(self, signals: Signals) -> Failure | None:
        if self.test(signals):
            return None
        return Failure(self.label, self.getter(signals), self.signal)

    def leaves(self) -> Iterator[Leaf]:
        yield self


@dataclass
class Group(Node):
    """``all``, ``any`` or ``not`` over child conditions."""

    kind: str = "all"
    children: list[Node] = field(default_factory=list)

    def explain(self, signals: Signals) -> Failure | None:
        if self.test(signals):
            return None
        if self.kind == "all":
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
            unknown = next((leaf.signal for leaf in leaves if not leaf.null_aware and leaf.getter(signals) is None),
                           None)
            return Failure(f"not ({inner.label}), but {unknown} is unknown", None, unknown)
        if not leaves:
            return Failure(f"not ({inner.label})")
        return Failure(f"not ({inner.label})", leaves[0].getter(signals), leaves[0].signal)

    def leaves(self) -> Iterator[Leaf]:
        for child in self.children:
            yield from child.leaves()


def always() -> Node:
    """The condition of a rule without ``when``."""
    return Node(lambda s: True, "always")


def all_of(children: list[Node], label: str | None = None, position: Position | None = None) -> Node:
    """AND, with the cheapest tests first."""
    if len(children) == 1 and label is None:
        return children[0]
    ordered = sorted(children, key=lambda c: c.cost)
    tests = tuple(c.test for c in ordered)
    test: Test
    if any(isinstance(c, Leaf) and c.direct is not None for c in ordered):
        test = _all_steps(ordered)
    elif len(tests) == 2:
        first, second = tests
        test = lambda s: first(s) and second(s)  # noqa: E731
    else:

        def test(s: Signals) -> bool:
            # a plain loop: all() over a generator costs a frame per call on this hot path
            for each in tests:  # noqa: SIM110
                if not each(s):
                    return False
            return True

    return Group(test, label or " and ".join(c.label for c in children), _reads(children),
                 sum(c.cost for c in children), position, "all", ordered)


def _all_steps(ordered: list[Node]) -> Test:
    """AND as one loop that reads plain signals itself: a Python call fewer per condition.

    Each step is ``(signal, predicate)`` for a leaf that reads one whole signal
    (unknown fails) or ``(None, test)`` for anything else.
    """
    steps = tuple(
        c.direct if isinstance(c, Leaf) and c.direct is not None else (None, c.test) for c in ordered
    )

    def test(s: Signals) -> bool:
        get = s.get
        for name, check in steps:
            if name is None:
                if not check(s):
                    return False
            else:
                value = get(name)
                if value is None or not check(value):
                    return False
        return True

    return test


def any_of(children: list[Node], position: Position | None = None) -> Node:
    """OR, with the cheapest tests first."""
    ordered = sorted(children, key=lambda c: c.cost)
    tests = tuple(c.test for c in ordered)

    def test(s: Signals) -> bool:
        for each in tests:  # noqa: SIM110 (see all_of)
            if each(s):
                return True
        return False

    label = "any of (" + "; ".join(c.label for c in children) + ")"
    return Group(test, label, _reads(children), sum(c.cost for c in children), position, "any", ordered)


def not_of(child: Node, position: Position | None = None) -> Node:
    """NOT that never matches an unknown value (SPEC §1).

    ``not: {user.tier: gold}`` holds for a known tier other than gold, not for a
    visitor whose tier is unknown: the negation also requires every value its
    null-rejecting conditions read to be known.
    """
    inner = child.test
    getters = tuple(leaf.getter for leaf in child.leaves() if not leaf.null_aware)

    def test(s: Signals) -> bool:
        if inner(s):
            return False
        for get in getters:  # noqa: SIM110 (see all_of)
            if get(s) is None:
                return False
        return True

    return Group(test, f"not ({child.label})", child.reads, child.cost, position, "not", [child])


def _reads(children: list[Node]) -> frozenset[str]:
    return frozenset().union(*(c.reads for c in children))


def getter_for(ref: SignalRef) -> Callable[[Signals], Any]:
    """Read a signal's value; for ``history.category_views.shoes``, a key of the mapping."""
    base = ref.base
    if ref.key is None:
        return lambda s: s.get(base)
    key, missing = ref.key, ref.value_spec.missing if ref.name not in SIGNALS else None

    def get(s: Signals) -> Any:
        mapping = s.get(base)
        if not isinstance(mapping, Mapping):
            return None
        return mapping.get(key, missing)

    return get


def unknown_signal_message(name: str) -> str:
    if name in NAMESPACES:
        example = next(n for n in SIGNALS if n.startswith(name + "."))
        return f"'{name}' is a namespace; name one of its signals, such as '{example}'"
    return f"unknown signal '{name}'{did_you_mean(name, [*SIGNALS, *COMBINATORS])}"


class ConditionCompiler:
    """Compiles conditions of one ruleset, sharing named segments and collecting problems."""

    def __init__(self, segments: Mapping[str, tuple[Any, Document, Path]], zone: ZoneInfo) -> None:
        self.segment_sources = segments
        self.zone = zone
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
        if not self.problems:
            from smalldata.rules.fuse import fuse

            node.test = fuse(node) or node.test  # the same condition in one frame, for the engine
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
        return _wrap_segment(value, self.segment(value), position)

    def _signal(self, name: str, value: Any, doc: Document, path: Path) -> Node:
        ref = resolve(name)
        if ref is None:
            return self._fail(doc.key_at(path), unknown_signal_message(name))
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
        getter = getter_for(ref)
        test = _leaf_test(compiled, getter, ref.base if ref.key is None else None)
        reads = frozenset({ref.base, "time.now"} if compiled.needs_now else {ref.base})
        cost = NAMESPACE_COST.get(ref.spec.namespace, 3) + (2 if op == "matches" else 0)
        direct = None
        if ref.key is None and not compiled.needs_now and not compiled.null_aware:
            direct = (ref.base, compiled.predicate)
        return Leaf(test, compiled.label, reads, cost, position, ref.name, getter, compiled.domain,
                    compiled.null_aware, direct, compiled.inline if direct else None,
                    compiled.items if direct else None)

    def _fail(self, position: Position, message: str) -> Node:
        self.problems.append(Problem(position, message))
        return Node(lambda s: False, "invalid condition", position=position)

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


def _wrap_segment(name: str, inner: Node, position: Position) -> Node:
    return Group(inner.test, f"segment {name}", inner.reads, inner.cost, position, "all", [inner])


def _leaf_test(compiled: Compiled, getter: Callable[[Signals], Any], base: str | None = None) -> Test:
    """The per-request test of one leaf; ``base`` when the value is a whole signal (read it directly)."""
    predicate = compiled.predicate
    if base is not None and not compiled.needs_now:
        # one call fewer than going through the getter: this runs for most rules on every request
        if compiled.null_aware:
            return lambda s: predicate(s.get(base))

        def direct(s: Signals) -> bool:
            value = s.get(base)
            return value is not None and predicate(value)

        return direct
    if compiled.needs_now:

        def timed(s: Signals) -> bool:
            value, now = getter(s), s.get("time.now")
            return value is not None and now is not None and predicate((value, now))

        return timed
    if compiled.null_aware:
        return lambda s: predicate(getter(s))

    def test(s: Signals) -> bool:
        value = getter(s)
        return value is not None and predicate(value)

    return test


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
    if isinstance(node, Group) and node.kind == "all":
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
