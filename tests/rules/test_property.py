"""Compiled conditions agree with a plain reference interpreter on random conditions and visitors."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smalldata.signals.base import StaticSignals
from tests.rules.helpers import compile_condition

NUMBERS = ["visitor.visits", "basket.total"]
BOOLS = ["visitor.returning", "user.logged_in"]
TEXTS = ["geo.country", "page.path"]
LISTS = ["visitor.tags", "basket.skus"]
WORDS = ["DK", "SE", "NO", "/", "/pricing", "/pricing/pro", "vip", "mug"]

number = st.integers(min_value=0, max_value=20)
word = st.sampled_from(WORDS)


def _number_leaf(name: str) -> st.SearchStrategy[dict[str, Any]]:
    ops = st.one_of(
        number.map(lambda n: n),
        st.tuples(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), number).map(lambda t: {t[0]: t[1]}),
        st.lists(number, min_size=1, max_size=3).map(lambda xs: {"in": xs}),
        st.lists(number, min_size=1, max_size=3).map(lambda xs: {"not_in": xs}),
        st.tuples(number, number).map(lambda t: {"between": sorted(t)}),
        st.booleans().map(lambda b: {"exists": b}),
    )
    return ops.map(lambda op: {name: op})


def _text_leaf(name: str) -> st.SearchStrategy[dict[str, Any]]:
    ops = st.one_of(
        word,
        st.lists(word, min_size=1, max_size=3),
        word.map(lambda w: {"ne": w}),
        word.map(lambda w: {"starts_with": w}),
        word.map(lambda w: {"contains": w}),
        st.booleans().map(lambda b: {"exists": b}),
    )
    return ops.map(lambda op: {name: op})


def _bool_leaf(name: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.booleans(), st.booleans().map(lambda b: {"ne": b})).map(lambda op: {name: op})


def _list_leaf(name: str) -> st.SearchStrategy[dict[str, Any]]:
    ops = st.one_of(
        word,
        st.lists(word, min_size=1, max_size=3).map(lambda xs: {"contains_any": xs}),
        st.lists(word, min_size=1, max_size=3).map(lambda xs: {"contains_all": xs}),
    )
    return ops.map(lambda op: {name: op})


leaf = st.one_of(
    *[_number_leaf(n) for n in NUMBERS], *[_text_leaf(n) for n in TEXTS],
    *[_bool_leaf(n) for n in BOOLS], *[_list_leaf(n) for n in LISTS],
)

condition = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        inner.map(lambda x: {"not": x}),
    ),
    max_leaves=8,
)

visitor = st.fixed_dictionaries(
    {},
    optional={
        **{n: st.one_of(st.none(), number) for n in NUMBERS},
        **{n: st.one_of(st.none(), st.booleans()) for n in BOOLS},
        **{n: st.one_of(st.none(), word) for n in TEXTS},
        **{n: st.one_of(st.none(), st.lists(word, max_size=3)) for n in LISTS},
    },
)


def reference(cond: dict[str, Any], ctx: dict[str, Any]) -> bool:
    """The condition language of docs/rules-reference.md §4, interpreted as simply as possible."""
    results = []
    for key, value in cond.items():
        if key == "all":
            results.append(all(reference(c, ctx) for c in value))
        elif key == "any":
            results.append(any(reference(c, ctx) for c in value))
        elif key == "not":
            # docs/rules-reference.md §4: a negation never matches an unknown value
            results.append(not reference(value, ctx) and all(ctx.get(n) is not None for n in _strict_signals(value)))
        else:
            results.append(_leaf(key, value, ctx.get(key)))
    return all(results)


def _strict_signals(cond: dict[str, Any]) -> list[str]:
    """The signals whose conditions inside ``cond`` are false on an unknown value."""
    names = []
    for key, value in cond.items():
        if key in ("all", "any"):
            names += [n for c in value for n in _strict_signals(c)]
        elif key == "not":
            names += _strict_signals(value)
        elif not (isinstance(value, dict) and set(value) == {"exists"}):
            names.append(key)
    return names


def _leaf(name: str, spec: Any, actual: Any) -> bool:
    is_list = name in LISTS
    if not isinstance(spec, dict):
        if is_list:
            wanted = spec if isinstance(spec, list) else [spec]
            return actual is not None and any(w in actual for w in wanted)
        if isinstance(spec, list):
            return actual is not None and actual in spec
        return actual == spec
    ((op, x),) = spec.items()
    if op == "exists":
        return (actual is not None) == x
    if actual is None:
        return False
    return {
        "eq": lambda: actual == x, "ne": lambda: actual != x, "gt": lambda: actual > x,
        "gte": lambda: actual >= x, "lt": lambda: actual < x, "lte": lambda: actual <= x,
        "in": lambda: actual in x, "not_in": lambda: actual not in x,
        "between": lambda: x[0] <= actual <= x[1], "starts_with": lambda: actual.startswith(x),
        "contains": lambda: x in actual,
        "contains_any": lambda: any(w in actual for w in x), "contains_all": lambda: all(w in actual for w in x),
    }[op]()


@settings(max_examples=400, deadline=None)
@given(condition, visitor)
def test_compiled_conditions_agree_with_the_reference_interpreter(cond: dict[str, Any], ctx: dict[str, Any]) -> None:
    node, problems = compile_condition(cond)
    if problems:  # a contradiction the loader rejects (e.g. gt 5 and lt 2) can never match
        assert all("can never match" in p for p in problems), problems
        assert reference(cond, ctx) is False
        return
    assert node.test(StaticSignals(ctx)) is reference(cond, ctx)
