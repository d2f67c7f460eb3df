"""Write conditions out as Python functions, and compile them once, when the rules load.

``{page.category: coffee, visitor.visits: {gte: 3}}`` becomes, in effect::

    ((v := s["page.category"]) is not None and v == 'coffee') and (
        (v := s["visitor.visits"]) is not None and (v >= 3 if type(v) in NUMBERS else gte_3(v)))

so a condition runs in one frame: every read is a dict lookup on the request's
signals (a missing one is computed then, see
:class:`~smalldata.signals.request.RequestSignals`), every plain comparison is
inline, and only the operators that need more (``within``, dates, ...) call the
predicate :mod:`smalldata.rules.operators` compiled for them. The same rules hold
as everywhere in the language: an unknown value matches nothing but ``exists:
false`` and ``eq: null``, a negation never matches an unknown value, and a value of
the wrong type (a provider's bug) is a non-match, never an exception.

:func:`compile_rules` writes a whole ruleset as one function (the engine's loop);
:func:`compile_test` one condition (traces, tools). No text from a rule file
reaches the source: names, literals and predicates are constants ``c0``, ``c1``, ...
of the namespace the code runs in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from smalldata.rules.index import RuleIndex

if TYPE_CHECKING:
    from smalldata.rules.conditions import Leaf, Node
    from smalldata.rules.ruleset import CompiledRule

logger = logging.getLogger("smalldata.rules")

Test = Callable[[Any], bool]
Run = Callable[[Any, dict[str, str], Callable[[int], None], Callable[[int], None] | None, Any], None]
"""A ruleset's evaluation: ``run(signals, taken, hit, skipped, now)`` (see :func:`compile_rules`)."""

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
    writer = _Writer()
    body = writer.expression(node)
    source = "\n".join([
        "def test(s):",
        "    try:",
        f"        return {body}",
        "    except Exception:  # no value may break a page: a condition that cannot be read does not hold",
        "        return failed(0)",
    ])  # fmt: skip
    test: Test = writer.build(source, "<smalldata condition>", _reporter([node.label]))["test"]
    return test


def compile_rules(rules: Sequence[CompiledRule], *, trace: bool = False) -> Run:
    """A whole ruleset as one function ``run(signals, taken, hit, skipped, now)``.

    Rules are tested in order (priority, then file order). A rule the rule index
    rules out (see :mod:`smalldata.rules.index`) is not evaluated at all, nor is one
    whose every slot is already in ``taken`` (unless it adds tags, which always
    apply); one that is active at ``now`` and whose condition holds is handed to
    ``hit(position)``, which fills ``taken``. With ``trace``, every rule that does
    not reach ``hit`` is handed to ``skipped(position)``, in order, so a trace can
    explain every rule; without, ``skipped`` is never called (the page's own loop
    pays nothing for traces).
    """
    writer = _Writer()
    index = RuleIndex.build(rules)
    lines = ["def run(s, taken, hit, skipped, now):"]
    seen: set[int] = set()
    otherwise = ["else:", "    skipped({position})"] if trace else []
    for position, rule in enumerate(rules):
        lines.append(f"    # {position}: {_comment(rule.id)}")
        guards = []
        key = index.keys[position]
        if key is not None:  # the index's bit first: one integer test rules out most rules
            number, bit = key
            if number not in seen:  # the group's key is read once, where its first rule is reached
                seen.add(number)
                group = index.groups[number]
                key_value = f"s[{writer.constant(group.signal)}]"
                if group.items:
                    lines.append(f"    m{number} = {writer.constant(group.kept)}({key_value})")
                else:  # Group.kept, inline: a value that cannot be looked up leaves every rule to its own test
                    by_value, everyone = writer.constant(group.by_value), writer.constant(group.everyone)
                    lines.append(f"    m{number} = ({by_value}.get(k, 0) if type(k := {key_value}) in SCALARS else "
                                 f"0 if k is None else {everyone})")
            guards.append(f"m{number} & {bit}")
        free = sorted(set(rule.slots)) if rule.slots and not rule.tags else []
        if free:
            guards.append(" or ".join(f"{writer.constant(slot)} not in taken" for slot in free))
        test = writer.expression(rule.condition)
        if rule.active is not None:
            test = f"now is not None and {writer.constant(rule.active.contains)}(now) and {test}"
        # a condition that cannot be read (a value no operator foresaw) does not hold: that rule is left out
        body = ["try:", f"    holds = {test}", "except Exception:", f"    holds = failed({position})", "if holds:",
                f"    hit({position})", *(line.format(position=position) for line in otherwise)]  # fmt: skip
        if guards:
            body = [f"if {' and '.join(f'({guard})' for guard in guards)}:", *("    " + line for line in body),
                    *(line.format(position=position) for line in otherwise)]  # fmt: skip
        lines += ["    " + line for line in body]
    lines.append("    return None")
    name = "<smalldata rules, traced>" if trace else "<smalldata rules>"
    run: Run = writer.build("\n".join(lines), name, _reporter([rule.id for rule in rules]))["run"]
    return run


def _comment(rule_id: str) -> str:
    return "".join(c for c in rule_id if c.isalnum() or c in "-_.")  # ids are plain words; nothing else reaches code


def _reporter(labels: list[str]) -> Callable[[int], bool]:
    reported: set[int] = set()

    def failed(position: int) -> bool:
        if position not in reported:  # once per condition: a broken provider must not flood the log
            reported.add(position)
            logger.exception("smalldata: the condition of %r could not be evaluated; it does not hold",
                             labels[position])  # fmt: skip
        return False

    return failed


class _Writer:
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
        from smalldata.rules.conditions import Always, Group, Leaf

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
