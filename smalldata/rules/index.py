"""Which rules could still match a request, without testing them one by one.

Most rules begin with a plain comparison on one signal — ``page.category:
coffee``, ``time.month: 12``, ``user.tier: [gold, platinum]``. Rules keyed on the
same signal form a group; when the engine reaches the first live rule of a
group, it reads that signal once and drops, with one dictionary lookup, every
rule of the group whose values do not include it: sixty category banners cost
one lookup on a page of another category. A rule is dropped just as cheaply
once every slot it could fill is taken.

The live rules are a bit mask (bit ``i`` = the rule at position ``i``), so a
dropped rule costs nothing at all: the engine jumps from one live rule to the
next. Dropping is only ever an early "no": a rule that survives is still tested
in full, so the index can make the engine faster but never change an answer.

Laziness is kept: a rule is keyed only on a comparison among its cheapest
conditions (those its own test reads first), and the key is read only when the
engine reaches a live rule of the group, when that rule's test would read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from smalldata.rules.conditions import Leaf, Node, conjuncts
from smalldata.rules.ruleset import CompiledRule

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
    """The rules keyed on one signal: all of them, and those each value keeps."""

    rules: int = 0
    by_value: dict[Any, int] = field(default_factory=dict)
    items: bool = False  # the signal is a list: each of its items keeps rules

    def kept(self, value: Any) -> int:
        """The rules of the group that ``value`` keeps (every one of them when it cannot be looked up)."""
        if value is None:
            return 0  # a plain comparison never matches an unknown value, an unknown list holds nothing
        by_value = self.by_value
        try:
            if not self.items:
                return by_value.get(value, 0)
            if type(value) not in _PLAIN_LISTS:
                return self.rules  # an odd collection: leave the rules to their own tests
            kept = 0
            for item in value:
                kept |= by_value.get(item, 0)
            return kept
        except TypeError:  # an unhashable value (a provider's bug): leave the rules to their own tests
            return self.rules


@dataclass
class RuleIndex:
    """Keys, groups and slot masks of a ruleset, built once when the engine is."""

    everything: int
    keys: tuple[str | None, ...]
    groups: dict[str, Group]
    # a rule is dropped when this slot is taken, if it is the only one it could fill
    by_slot: dict[str, int]

    @classmethod
    def build(cls, rules: Sequence[CompiledRule]) -> RuleIndex:
        keys: list[str | None] = []
        groups: dict[str, Group] = {}
        by_slot: dict[str, int] = {}
        for position, rule in enumerate(rules):
            bit = 1 << position
            key = key_of(rule.condition)
            if key is not None and groups.setdefault(key.signal, Group(items=key.items)).items != key.items:
                key = None  # one signal read two ways (no built-in operator does): leave the rule to its test
            keys.append(key.signal if key else None)
            if key is not None:
                group = groups[key.signal]
                group.rules |= bit
                for value in key.values:
                    group.by_value[value] = group.by_value.get(value, 0) | bit
            if len(set(rule.slots)) == 1 and not rule.tags:  # a rule that adds tags runs whatever is taken
                by_slot[rule.slots[0]] = by_slot.get(rule.slots[0], 0) | bit
        return cls((1 << len(rules)) - 1, tuple(keys), groups, by_slot)


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
    if not isinstance(node, Leaf) or node.direct is None:
        return None
    if node.items:
        return Key(node.direct[0], node.items, items=True)
    if node.inline is None:
        return None
    op, literal = node.inline
    if op not in _MEMBERSHIP:
        return None
    values = literal if op == "in" else frozenset([literal])
    return Key(node.direct[0], values) if isinstance(values, frozenset) and values else None


def _rank(key: Key) -> tuple[bool, int]:
    return any(isinstance(value, bool) for value in key.values), len(key.values)
