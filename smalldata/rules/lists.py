"""Named lists kept beside the rules (VIP customer ids, a delivery zone's postcodes, a campaign's SKUs).

A rule file may hold a ``lists:`` section, one named list of values each::

    lists:
      vip: ["1001", "1002", "1187"]
      copenhagen-zone: [1000, 1050, 2100]

and a condition tests a signal against one by name: ``user.id: {in_list: vip}``
(``not_in_list`` for the opposite; on a list signal, ``in_list`` holds when any of
its items is in the named list). Lists live in rule files, so they are checked by
``smalldata check`` (a list that is not there is an error at the rule's line),
reloaded with the rules and edited in the console like any rule file. A value is
kept as its text, the one coercion every signal value goes through
(:func:`smalldata.signals.catalog.as_text`): the postcode 2100 is ``"2100"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from smalldata.foundation.problems import Position, did_you_mean
from smalldata.foundation.yamlpos import Document
from smalldata.rules.literals import Compiled, Domain, Literals, Predicate
from smalldata.signals.catalog import as_text

LIST_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,60}$")
MAX_ENTRIES = 100_000  # per list: a big delivery zone or a customer segment, not a database
LIST_OPERATORS = ("in_list", "not_in_list")


def named_lists(docs: list[Document], error: Callable[[Position, str], None]) -> dict[str, frozenset[str]]:
    """Every ``lists:`` section of ``docs`` → ``{name: its values as texts}``; mistakes go to ``error``."""
    lists: dict[str, frozenset[str]] = {}
    first: dict[str, Position] = {}
    for doc in docs:
        section = doc.data.get("lists") if isinstance(doc.data, dict) else None
        if section is None:
            continue
        if not isinstance(section, dict):
            error(doc.at(("lists",)), "'lists' must be a mapping of list names to lists of values")
            continue
        for name, values in section.items():
            where = ("lists", name)
            if not isinstance(name, str) or not LIST_NAME.match(name):
                error(doc.key_at(where), f"a list name is lower-case letters, digits, '-' and '_', not {name!r}")
                continue
            if name in lists:
                error(doc.key_at(where), f"duplicate list '{name}' (first defined at {first[name]})")
                continue
            if not isinstance(values, list):
                error(doc.at(where), f"list '{name}' must be a list of values such as [a, b]")
                continue
            if len(values) > MAX_ENTRIES:
                error(doc.at(where), f"list '{name}' has {len(values)} values; at most {MAX_ENTRIES}")
                continue
            texts = []
            for index, value in enumerate(values):
                text = None if isinstance(value, bool) else as_text(value)
                if text is None:
                    error(doc.at((*where, index)), f"list '{name}' holds texts and numbers, not {value!r}")
                    continue
                texts.append(text)
            lists[name] = frozenset(texts)
            first[name] = doc.key_at(where)
    return lists


def compile_in_list(op: str, literal: Any, lit: Literals, lists: Mapping[str, frozenset[str]]) -> Compiled:
    """``in_list: NAME`` (or ``not_in_list``) for the signal ``lit`` describes; ``ValueError`` says what is wrong."""
    name = lit.ref.name
    if not isinstance(literal, str):
        raise ValueError(f"{op} takes the name of a list, such as {op}: vip")
    values = lists.get(literal)
    if values is None:
        known = sorted(lists)
        hint = did_you_mean(literal, known) or (f" (lists: {', '.join(known)})" if known else
                                                " (write it under 'lists:' in a rule file)")
        raise ValueError(f"no list named '{literal}'{hint}")
    wanted: frozenset[Any] = values
    if lit.kind == "number":
        wanted = frozenset(_numbers(literal, values, name))
    elif lit.kind not in ("text", "list"):
        raise ValueError(f"'{op}' applies to text, numbers and lists, not to {name}")
    negate = op == "not_in_list"
    label = f"{name} is {'not ' if negate else ''}in list {literal}"
    if lit.kind == "list":
        return Compiled(_any_item(wanted, negate), label)
    member: Predicate = (lambda v: v is not None and v not in wanted) if negate else (lambda v: v in wanted)
    domain = Domain(excluded=wanted) if negate else Domain(values=wanted)
    return Compiled(_hashable_only(member), label, domain)


def _numbers(list_name: str, values: frozenset[str], signal: str) -> list[float]:
    numbers = []
    for value in values:
        try:
            numbers.append(float(value))
        except ValueError:
            raise ValueError(f"list '{list_name}' holds '{value}', not a number, and {signal} is a number") from None
    return numbers


def _hashable_only(test: Predicate) -> Predicate:
    def member(v: Any) -> bool:
        try:
            return test(v)
        except TypeError:  # a provider's unhashable value: in no list
            return False

    return member


def _any_item(wanted: frozenset[Any], negate: bool) -> Predicate:
    def test(v: Any) -> bool:
        if not isinstance(v, list | tuple | set | frozenset):
            return False
        try:
            hit = not wanted.isdisjoint(v)
        except TypeError:
            return False
        return not hit if negate else hit

    return test
