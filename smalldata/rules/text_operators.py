"""The text operators: ``contains`` (and ``_any``/``_all``), ``starts_with``, ``ends_with``, ``matches``.

Regular expressions are RE2 (linear time: no pattern a merchandiser writes can stall
a page), and a pattern's answers for short texts are remembered.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import re2

from smalldata.rules.literals import MAX_PATTERN, Compiled, Literals, Predicate, show


def compile_contains(op: str, literal: Any, lit: Literals) -> Compiled:
    name = lit.ref.name
    # in a text, a word is looked for inside it; in a list, an item is one of its words
    inside = "contains" if lit.kind == "text" else "eq"
    if op == "contains":
        needle = lit.text(literal, inside)
        if lit.kind == "text":
            return Compiled(lambda v: isinstance(v, str) and needle in v, f"{name} contains '{needle}'")
        return Compiled(lambda v: _has(v, needle), f"{name} contains '{needle}'", inline=("has", needle),
                        items=frozenset([needle]))
    needles = lit.texts(literal, inside)
    if not isinstance(literal, list):
        raise ValueError(f"{op} takes a list such as [a, b], not {show(literal)}")
    quantifier = any if op == "contains_any" else all
    word = "any" if op == "contains_any" else "all"
    label = f"{name} contains {word} of {list(needles)}"
    if lit.kind == "text":
        return Compiled(lambda v: isinstance(v, str) and quantifier(n in v for n in needles), label)
    # any one item of an "all of" is needed too: the first will do for the index
    items = frozenset(needles) if op == "contains_any" else frozenset(needles[:1])
    return Compiled(_contains_many(op, needles), label, items=items or None)


# The types providers hand over: checked by identity, much cheaper than an isinstance against an ABC.
_PLAIN_COLLECTIONS = frozenset({list, tuple, set, frozenset})


def _contains_many(op: str, needles: tuple[str, ...]) -> Predicate:
    """``contains_any`` / ``contains_all`` on a list signal, as set operations in C when the list allows."""
    wanted = frozenset(needles)
    quantifier = any if op == "contains_any" else all

    def test(v: Any) -> bool:
        if type(v) in _PLAIN_COLLECTIONS:
            try:
                return wanted.issubset(v) if quantifier is all else not wanted.isdisjoint(v)
            except TypeError:  # unhashable items from a buggy provider: compare one by one
                pass
        return quantifier(_has(v, n) for n in needles)

    return test


def _has(collection: Any, item: str) -> bool:
    if type(collection) in _PLAIN_COLLECTIONS:
        return item in collection
    return isinstance(collection, Collection) and not isinstance(collection, str) and item in collection


def compile_affix(op: str, literal: Any, lit: Literals) -> Compiled:
    name = lit.ref.name
    affixes = lit.texts(literal, op)
    word = "starts with" if op == "starts_with" else "ends with"
    label = f"{name} {word} {' or '.join(repr(a) for a in affixes)}"
    if op == "starts_with":
        return Compiled(lambda v: isinstance(v, str) and v.startswith(affixes), label, inline=(op, affixes))
    return Compiled(lambda v: isinstance(v, str) and v.endswith(affixes), label, inline=(op, affixes))


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.max_mem = 1 << 20
_RE2_OPTIONS.log_errors = False


def compile_matches(op: str, literal: Any, lit: Literals) -> Compiled:
    if not isinstance(literal, str) or not literal:
        raise ValueError(f"matches takes a regular expression in quotes, not {show(literal)}")
    if len(literal) > MAX_PATTERN:
        raise ValueError(f"regular expression is longer than {MAX_PATTERN} characters")
    try:
        # RE2 runs in linear time: no pattern can stall a request on a hostile path or User-Agent
        pattern = re2.compile(literal, options=_RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "cannot be compiled"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(f"bad regular expression '{literal}': {reason}") from None
    if lit.spec.choices and not any(pattern.search(word) is not None for word in lit.spec.choices):
        lit.never(f"matches '{literal}'")
    seen: dict[str, bool] = {}
    search = _searcher(pattern, seen)
    return Compiled(lambda v: isinstance(v, str) and search(v), f"{lit.ref.name} matches /{literal}/",
                    inline=("search", seen))


def _searcher(pattern: Any, seen: dict[str, bool]) -> Callable[[str], bool]:
    """Whether ``pattern`` occurs in a text.

    Answers for short texts are remembered in ``seen`` (paths and campaign names
    repeat from request to request; generated conditions look there first), in a
    table that starts over when it fills up.
    """

    def search(text: str) -> bool:
        found = seen.get(text)
        if found is not None:
            return found
        found = pattern.search(text) is not None
        if len(text) <= _REMEMBER_CHARS:
            if len(seen) >= _REMEMBER_TEXTS:
                seen.clear()
            seen[text] = found
        return found

    return search


_REMEMBER_CHARS = 200  # a hostile megabyte path is searched, never kept
_REMEMBER_TEXTS = 4096  # per pattern
