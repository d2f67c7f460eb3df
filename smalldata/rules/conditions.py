"""A rule's condition: a tree of plain data, and the one Python function it is written out as.

The tree (:class:`Leaf` for one operator on one signal, :class:`Group` for
``all``/``any``/``not``/``segment``) says what a condition reads, what it costs,
where it was written and what it admits (:mod:`smalldata.rules.when` reads it from
``when:``). Evaluating it is always generated code: a node's :attr:`~Node.test` is
one function that reads the signals itself, written and compiled the first time it
is asked for. ``{page.category: coffee, visitor.visits: {gte: 3}}`` becomes, in effect::

    ((v := s["page.category"]) is not None and v == 'coffee') and (
        (v := s["visitor.visits"]) is not None and (v >= 3 if type(v) in NUMBERS else gte_3(v)))

so a condition runs in one frame: every read is a dict lookup on the request's
signals, every plain comparison is inline, and only the operators that need more
(``within``, dates, ...) call the predicate :mod:`smalldata.rules.operators` compiled
for them. An unknown value matches nothing but ``exists: false`` and ``eq: null``, a
negation never matches an unknown value, and a value of the wrong type (a provider's
bug) is a non-match, never an exception. The engine asks only a rule's root (inlined
in the ruleset's function, :mod:`smalldata.rules.codegen`); traces (``explain``) ask
the nodes below it.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from smalldata.foundation.problems import Position
from smalldata.rules.literals import Compiled, Domain, Interval
from smalldata.signals.base import Signals, read_signal
from smalldata.signals.catalog import resolve

logger = logging.getLogger("smalldata.rules")


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
    """NOT that never matches an unknown value (docs/rules-reference.md §4, "Unknown values").

    ``not: {user.tier: gold}`` holds for a known tier other than gold, not for a
    visitor whose tier is unknown: the negation also requires every value its
    null-rejecting conditions read to be known.
    """
    return Group(f"not ({child.label})", child.reads, child.cost, position, kind="not", children=[child])


def _reads(children: list[Node]) -> frozenset[str]:
    return frozenset().union(*(c.reads for c in children))


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


# -- the generated code ------------------------------------------------------------------------

Test = Callable[[Any], bool]

# Comparisons of a literal with a value of another type go to the predicate, which knows to
# answer False rather than raise; these are the types the inline forms are safe for.
_NUMBERS = frozenset({int, float, bool})
_SCALARS = frozenset({str, int, float, bool, date, datetime})
_PLAIN = frozenset({list, tuple, set, frozenset})
_ORDERED = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_METHODS = {"starts_with": "startswith", "ends_with": "endswith"}
MAX_NODES = 200  # a bigger condition is written as one function per child, each called from its parent
SEGMENT_KEY = "segment:"  # where a request remembers a named segment's answer


def compile_test(node: Node) -> Test:
    """``node`` as one function ``test(signals) -> bool`` that never raises."""
    writer = ConditionWriter()
    body = writer.expression(node)
    source = "\n".join([
        "def test(s):",
        "    try:",
        f"        return {body}",
        "    except Exception:  # no value may break a page: a condition that cannot be read does not hold",
        "        return failed(0)",
    ])  # fmt: skip
    test: Test = writer.build(source, "<smalldata condition>", reporter([node.label]))["test"]
    return test


def reporter(labels: list[str]) -> Callable[[int], bool]:
    reported: set[int] = set()

    def failed(position: int) -> bool:
        if position not in reported:  # once per condition: a broken provider must not flood the log
            reported.add(position)
            logger.exception("smalldata: the condition of %r could not be evaluated; it does not hold",
                             labels[position])  # fmt: skip
        return False

    return failed


class ConditionWriter:
    """Writes conditions as Python source; their names, literals and predicates become constants ``c0``, ``c1``, ..."""

    def __init__(self) -> None:
        self.constants: list[Any] = []
        self.nodes = 0

    def constant(self, value: Any) -> str:
        self.constants.append(value)
        return f"c{len(self.constants) - 1}"

    def build(self, source: str, filename: str, failed: Callable[[int], bool]) -> dict[str, Any]:
        """Run ``source`` in a namespace holding the constants (global names: the fastest to read)."""
        namespace: dict[str, Any] = {f"c{i}": value for i, value in enumerate(self.constants)}
        namespace.update(NUMBERS=_NUMBERS, SCALARS=_SCALARS, PLAIN=_PLAIN, MAPPING=Mapping, failed=failed)
        exec(compile(source, filename, "exec"), namespace)
        return namespace

    def expression(self, node: Node) -> str:
        self.nodes += 1
        if self.nodes > MAX_NODES and isinstance(node, Group):
            return f"{self.constant(node.test)}(s)"  # its own function (compiled from its own tree)
        if isinstance(node, Leaf):
            return self.leaf(node)
        if isinstance(node, Always):
            return "True"
        if not isinstance(node, Group) or not node.children:
            return "False"  # an invalid condition never holds
        if node.kind == "all":
            return "(" + " and ".join(self.expression(child) for child in node.children) + ")"
        if node.kind == "any":
            return "(" + " or ".join(self.expression(child) for child in node.children) + ")"
        if node.kind == "segment":
            key = self.constant(SEGMENT_KEY + node.name)
            return f"(s[{key}] if {key} in s else {self.constant(_remembered(node))}(s))"
        inner = node.children[0]
        known = "".join(f" and {self.value(leaf)} is not None" for leaf in inner.leaves() if not leaf.null_aware)
        return f"(not {self.expression(inner)}{known})"

    def value(self, leaf: Leaf) -> str:
        base = self.constant(leaf.base)
        if leaf.key is None:
            return f"s[{base}]"
        key, missing = self.constant(leaf.key), self.constant(leaf.missing)
        return f"(m.get({key}, {missing}) if type(m := s[{base}]) is dict or isinstance(m, MAPPING) else None)"

    def leaf(self, leaf: Leaf) -> str:
        compiled = leaf.compiled
        if compiled is None:
            return "False"
        predicate = self.constant(compiled.predicate)
        if compiled.null_aware:
            return f"{predicate}({self.value(leaf)})"
        if compiled.needs_now:
            now = self.constant("time.now")
            return f"((v := {self.value(leaf)}) is not None and (n := s[{now}]) is not None and {predicate}((v, n)))"
        return f"((v := {self.value(leaf)}) is not None and {self.comparison(compiled.inline, predicate)})"

    def comparison(self, inline: tuple[str, Any] | None, predicate: str) -> str:
        if inline is None:
            return f"{predicate}(v)"
        op, literal = inline
        if op == "wraps":  # hours across midnight: between [22, 2]
            low, high = literal
            low, high = self.constant(low), self.constant(high)
            return f"((v >= {low} or v <= {high}) if type(v) in NUMBERS else {predicate}(v))"
        if op == "search":  # a regular expression, whose answers for short texts are remembered
            return f"(type(v) is str and (r if (r := {self.constant(literal)}.get(v)) is not None else {predicate}(v)))"
        c = self.constant(literal)
        if op == "eq":
            return f"v == {c}"
        if op == "not_eq":
            return f"not v == {c}"
        if op == "is":
            return f"v is {c}"
        if op == "not_is":
            return f"v is not {c}"
        if op == "in":  # a value that cannot be in a set (a list, say) is none of them
            return f"(v in {c} if type(v) in SCALARS else {predicate}(v))"
        if op == "not_in":
            return f"(v not in {c} if type(v) in SCALARS else {predicate}(v))"
        if op in _METHODS:
            return f"(type(v) is str and v.{_METHODS[op]}({c}))"
        if op == "has":  # a list signal holding an item: == comparisons, nothing hashed
            return f"({c} in v if type(v) in PLAIN else {predicate}(v))"
        if op == "between":
            low, high = literal
            return f"({self.constant(low)} <= v <= {self.constant(high)} if type(v) in NUMBERS else {predicate}(v))"
        return f"(v {_ORDERED[op]} {c} if type(v) in NUMBERS else {predicate}(v))"


def _remembered(segment: Node) -> Test:
    """A named segment's test that keeps its answer in the request's signals: rules share it."""
    inner = segment.children[0]  # type: ignore[attr-defined]
    key = SEGMENT_KEY + segment.name  # type: ignore[attr-defined]

    def remember(s: Any) -> bool:
        answer = inner.test(s)
        s[key] = answer
        return bool(answer)

    return remember
