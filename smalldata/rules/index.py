"""Which rules could still match a request, without testing them one by one.

Most rules begin with a plain comparison on one signal — ``page.category:
coffee``, ``time.month: 12``, ``user.tier: [gold, platinum]``. Rules keyed on the
same signal form a group, and each rule has a bit in its group's mask. When the
generated evaluation (:func:`smalldata.rules.codegen.compile_rules`) reaches the
first rule of a group, it reads that signal once and looks up, with one
dictionary lookup, the mask of the group's rules that value keeps; every rule of
the group then starts with one ``mask & bit`` test: sixty category banners cost
one lookup and sixty bit tests on a page of another category. The mask is only
ever an early "no": a rule it keeps is still tested in full, so the index can make
the engine faster but never change an answer.

Laziness is kept: a rule is keyed only on a comparison among its cheapest
conditions (those its own test reads first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from smalldata.rules.conditions import Leaf, Node, conjuncts
from smalldata.rules.ruleset import CompiledRule

#: Fewer rules keyed on one signal are left to their own tests.
MIN_GROUP = 2
# operators whose test is "the value is one of these" (by ==, so a dict lookup finds every match)
_MEMBERSHIP = frozenset({"eq", "is", "in"})
_PLAIN_LISTS = frozenset({list, tuple, set, frozenset})


@dataclass(frozen=True)
class Key:
    """The comparison a rule is keyed on: its ``signal`` must be one of ``values``.

    For a list signal (``items``), the list must hold one of ``values``.
    """

    signal: str
    values: frozenset[Any]
    items: bool = False


@dataclass
class Group:
    """The rules keyed on one signal: their bits (in rule order), and those each value keeps."""

    signal: str
    items: bool = False  # the signal is a list: each of its items keeps rules
    everyone: int = 0
    by_value: dict[Any, int] = field(default_factory=dict)

    def add(self, key: Key) -> int:
        """Add a rule keyed on ``key``; returns its bit."""
        bit = self.everyone + 1  # the next bit: everyone is 2**n - 1 for n rules
        self.everyone |= bit
        for value in key.values:
            self.by_value[value] = self.by_value.get(value, 0) | bit
        return bit

    def kept(self, value: Any) -> int:
        """The bits of the group's rules that ``value`` keeps (every one of them when it cannot be looked up)."""
        if value is None:
            return 0  # a plain comparison never matches an unknown value, an unknown list holds nothing
        by_value = self.by_value
        try:
            if not self.items:
                return by_value.get(value, 0)
            if type(value) not in _PLAIN_LISTS:
                return self.everyone  # an odd collection: leave the rules to their own tests
            kept = 0
            for item in value:
                kept |= by_value.get(item, 0)
            return kept
        except TypeError:  # an unhashable value (a provider's bug): leave the rules to their own tests
            return self.everyone


@dataclass
class RuleIndex:
    """The group and bit of every keyed rule of a ruleset."""

    groups: list[Group]
    keys: tuple[tuple[int, int] | None, ...]  # per rule: (group number, bit), or None when not keyed

    @classmethod
    def build(cls, rules: Sequence[CompiledRule], *, smallest: int = MIN_GROUP) -> RuleIndex:
        """Index ``rules``, in groups of at least ``smallest`` rules (a smaller group's lookup costs
        more than its rules' own first tests)."""
        found = [key_of(rule.condition) for rule in rules]
        sizes: dict[tuple[str, bool], int] = {}
        for key in found:
            if key is not None:
                sizes[key.signal, key.items] = sizes.get((key.signal, key.items), 0) + 1
        groups: dict[str, tuple[int, Group]] = {}
        keys: list[tuple[int, int] | None] = []
        for key in found:
            if key is None or sizes[key.signal, key.items] < smallest:
                keys.append(None)  # left to its own test
                continue
            if key.signal not in groups:
                groups[key.signal] = (len(groups), Group(key.signal, key.items))
            number, group = groups[key.signal]
            if group.items != key.items:  # one signal read two ways (no built-in operator does)
                keys.append(None)
                continue
            keys.append((number, group.add(key)))
        return cls([group for _, group in groups.values()], tuple(keys))


def key_of(condition: Node) -> Key | None:
    """The comparison to key a rule on, if one of its cheapest conditions is a plain "is one of".

    Of several, the one that keeps fewest visitors: a choice of a few values
    rather than a yes/no.
    """
    parts = list(conjuncts(condition))
    if not parts:
        return None
    cheapest = min(part.cost for part in parts)
    best: Key | None = None
    for part in parts:
        key = _membership(part) if part.cost == cheapest else None
        if key is not None and (best is None or _rank(key) < _rank(best)):
            best = key
    return best


def _membership(node: Node) -> Key | None:
    if not isinstance(node, Leaf) or not node.plain or node.compiled is None:
        return None
    if node.compiled.items:
        return Key(node.base, node.compiled.items, items=True)
    if node.compiled.inline is None:
        return None
    op, literal = node.compiled.inline
    if op not in _MEMBERSHIP:
        return None
    values = literal if op == "in" else frozenset([literal])
    return Key(node.base, values) if isinstance(values, frozenset) and values else None


def _rank(key: Key) -> tuple[bool, int]:
    return any(isinstance(value, bool) for value in key.values), len(key.values)
