"""The condition operators: how each compiles a literal into a predicate.

An operator compiles, once at load time, a literal from the rule file into a
predicate over the signal's value. Literal problems (a word where a number
belongs, a regex that does not compile) raise ``ValueError`` with a message
for people; the compiler adds the file position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sized
from datetime import date, datetime, time, timedelta
from typing import Any

from smalldata.rules.durations import parse_duration, parse_window
from smalldata.rules.literals import (
    KIND_WORDS,
    OPERATORS,
    Compiled,
    Domain,
    Interval,
    Literals,
    Predicate,
    comparable,
    show,
)
from smalldata.rules.text_operators import compile_affix, compile_contains, compile_matches


def compile_operator(op: str, literal: Any, lit: Literals) -> Compiled:
    """Compile ``op: literal`` for the signal described by ``lit``."""
    name = lit.ref.name
    if op not in OPERATORS:
        raise KeyError(op)
    if lit.kind not in OPERATORS[op]:
        usable = sorted(o for o, kinds in OPERATORS.items() if lit.kind in kinds)
        raise ValueError(f"'{op}' does not apply to {name} ({KIND_WORDS[lit.kind]}); use one of {', '.join(usable)}")
    return _COMPILERS[op](op, literal, lit)


def _eq(op: str, literal: Any, lit: Literals) -> Compiled:
    name = lit.ref.name
    if literal is None:
        if op == "eq":
            return Compiled(lambda v: v is None, f"{name} is unknown", Domain(null=True), null_aware=True)
        return Compiled(lambda v: v is not None, f"{name} is known", Domain(null=False), null_aware=True)
    if lit.kind == "list":
        wanted = frozenset(lit.texts(literal))
        if op == "eq":
            return Compiled(lambda v: _as_set(v) == wanted, f"{name} is exactly {sorted(wanted)}")
        return Compiled(lambda v: v is not None and _as_set(v) is not None and _as_set(v) != wanted,
                        f"{name} is not {sorted(wanted)}")
    if lit.kind in ("map", "records"):
        raise ValueError(f"{name} can only be compared with null (or use 'exists' or 'empty')")
    if lit.kind == "datetime" and isinstance(literal, str):
        return _window("window", literal, lit)
    value = lit.scalar(literal)
    _check_in_bounds(lit, [value])
    if isinstance(value, date) and not isinstance(value, datetime):
        conv = comparable(lit)
        equal: Predicate = lambda v: conv(v) == value  # noqa: E731
        inline = None
    else:  # the common case calls nothing but the comparison
        equal = (lambda v: v is value) if isinstance(value, bool) else (lambda v: v == value)
        inline = ("is" if isinstance(value, bool) else "eq", value)
    if op == "eq":
        shown = f"{name} is {show(value)}" if isinstance(value, bool) else f"{name} = {show(value)}"
        return Compiled(equal, shown, Domain(values=frozenset([value])), inline=inline)
    return Compiled(
        lambda v: v is not None and not equal(v), f"{name} ≠ {show(value)}", Domain(excluded=frozenset([value])),
        inline=("not_" + inline[0], value) if inline else None,
    )


def _as_set(value: Any) -> frozenset[Any] | None:
    """The items of a list signal as a set; None when it is no list of hashable items (a provider's bug)."""
    if isinstance(value, list | tuple | set | frozenset):
        try:
            return frozenset(value)
        except TypeError:
            return None
    return None


def _check_in_bounds(lit: Literals, values: list[Any]) -> None:
    if lit.kind != "number":
        return
    bounds = lit.bounds()
    for value in values:
        if not bounds.admits(value):
            span = f"{_num(bounds.low)} to {_num(bounds.high)}"
            raise ValueError(f"{lit.ref.name} is never {value} (it runs from {span})")


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _in(op: str, literal: Any, lit: Literals) -> Compiled:
    name = lit.ref.name
    values = frozenset(lit.many(literal))
    _check_in_bounds(lit, list(values))
    shown = ", ".join(sorted(show(v) for v in values))
    # a time stamp is compared by its day in the shop's time zone when the list holds dates
    conv = comparable(lit) if lit.kind == "datetime" else None
    member = _membership(values, conv)
    inline = ("in", values) if conv is None else None
    if op == "in":
        return Compiled(member, f"{name} is one of [{shown}]", Domain(values=values), inline=inline)
    return Compiled(_membership(values, conv, negate=True), f"{name} is none of [{shown}]", Domain(excluded=values),
                    inline=("not_in", values) if inline else None)


def _membership(values: frozenset[Any], conv: Callable[[Any], Any] | None = None, *, negate: bool = False
                ) -> Predicate:
    """``v in values`` (``not in`` with ``negate``) on a known value; a value that cannot be in a set
    (a list from a buggy provider) is a non-match either way."""

    def member(v: Any) -> bool:
        if v is None:
            return False
        try:
            value = conv(v) if conv is not None else v
            hash(value)
            return (value in values) is not negate
        except TypeError:  # unhashable: neither one of the values nor comparable with them
            return False

    return member


_ORDER: dict[str, tuple[Callable[[Any, Any], bool], str, Callable[[float], Interval]]] = {
    "gt": (lambda v, x: v > x, ">", lambda x: Interval(low=x, low_open=True)),
    "gte": (lambda v, x: v >= x, "≥", lambda x: Interval(low=x)),
    "lt": (lambda v, x: v < x, "<", lambda x: Interval(high=x, high_open=True)),
    "lte": (lambda v, x: v <= x, "≤", lambda x: Interval(high=x)),
}


def _ordered(op: str, literal: Any, lit: Literals) -> Compiled:
    compare, symbol, interval = _ORDER[op]
    value: Any = lit.number(literal) if lit.kind == "number" else lit.day(literal) if lit.kind == "date" else (
        lit.moment(literal))
    domain = Domain(interval=interval(value)) if lit.kind == "number" else None
    label = f"{lit.ref.name} {symbol} {show(value)}"
    if isinstance(value, date) and not isinstance(value, datetime):
        conv = comparable(lit)
        return Compiled(lambda v: _safe(compare, conv(v), value), label, domain)
    return Compiled(_ORDERED_DIRECT[op](value), label, domain, inline=(op, value))


def _greater(x: Any) -> Predicate:
    # one closure per operator, comparison inline: this runs for most rules on every request
    def test(v: Any) -> bool:
        try:
            return v is not None and v > x
        except TypeError:  # a provider bug that hands over text for a number
            return False

    return test


def _at_least(x: Any) -> Predicate:
    def test(v: Any) -> bool:
        try:
            return v is not None and v >= x
        except TypeError:
            return False

    return test


def _less(x: Any) -> Predicate:
    def test(v: Any) -> bool:
        try:
            return v is not None and v < x
        except TypeError:
            return False

    return test


def _at_most(x: Any) -> Predicate:
    def test(v: Any) -> bool:
        try:
            return v is not None and v <= x
        except TypeError:
            return False

    return test


_ORDERED_DIRECT: dict[str, Callable[[Any], Predicate]] = {
    "gt": _greater, "gte": _at_least, "lt": _less, "lte": _at_most,
}  # fmt: skip


def _ordered_conv(lit: Literals, value: Any) -> Callable[[Any], Any]:
    if isinstance(value, date) and not isinstance(value, datetime):
        return comparable(lit)
    return lambda v: v


def _safe(compare: Callable[[Any, Any], bool], value: Any, literal: Any) -> bool:
    # a provider bug that hands over text for a number must not take the page down
    try:
        return value is not None and compare(value, literal)
    except TypeError:
        return False


def _between(op: str, literal: Any, lit: Literals) -> Compiled:
    name = lit.ref.name
    if not isinstance(literal, list) or len(literal) != 2:
        raise ValueError(f"between takes two values, [low, high], not {show(literal)}")
    low: Any
    high: Any
    if lit.kind == "number":
        low, high = lit.number(literal[0]), lit.number(literal[1])
    elif lit.kind == "date":
        low, high = lit.day(literal[0]), lit.day(literal[1])
    else:
        low, high = lit.moment(literal[0]), lit.moment(literal[1])
    conv = _ordered_conv(lit, low)
    cycle = lit.spec.cycle
    label = f"{name} between {show(low)} and {show(high)}"
    try:
        backwards = low > high
    except TypeError:
        raise ValueError("between takes two values of the same kind") from None
    if backwards:
        if not cycle:
            raise ValueError(
                f"between [{show(low)}, {show(high)}] can never match: the low end is above the high end"
            )
        _check_in_bounds(lit, [low, high])

        def wraps(v: Any) -> bool:
            try:
                return v is not None and (v >= low or v <= high)
            except TypeError:  # a provider bug that hands over text for a number
                return False

        return Compiled(wraps, label + " (across midnight)" if name.startswith("time.") else label,
                        inline=("wraps", (low, high)))
    _check_in_bounds(lit, [low, high])
    domain = Domain(interval=Interval(low, high)) if lit.kind == "number" else None
    if isinstance(low, date) and not isinstance(low, datetime):

        def between_days(v: Any) -> bool:
            try:
                return v is not None and low <= conv(v) <= high
            except TypeError:
                return False

        return Compiled(between_days, label, domain)

    def between(v: Any) -> bool:
        try:
            return v is not None and low <= v <= high
        except TypeError:  # a provider bug that hands over text for a number
            return False

    return Compiled(between, label, domain, inline=("between", (low, high)))


def _exists(op: str, literal: Any, lit: Literals) -> Compiled:
    if not isinstance(literal, bool):
        raise ValueError(f"exists is true or false, not {show(literal)}")
    name = lit.ref.name
    if literal:
        return Compiled(lambda v: v is not None, f"{name} is known", Domain(null=False), null_aware=True)
    return Compiled(lambda v: v is None, f"{name} is unknown", Domain(null=True), null_aware=True)


def _empty(op: str, literal: Any, lit: Literals) -> Compiled:
    if not isinstance(literal, bool):
        raise ValueError(f"empty is true or false, not {show(literal)}")
    name = lit.ref.name
    # a known but empty value (a new visitor's history) is empty; an unknown one is neither
    if literal:
        return Compiled(lambda v: isinstance(v, Sized) and len(v) == 0, f"{name} is empty", Domain(null=False))
    return Compiled(lambda v: isinstance(v, Sized) and len(v) > 0, f"{name} is not empty", Domain(null=False))


def _age(op: str, literal: Any, lit: Literals) -> Compiled:
    span = parse_duration(literal)
    zone = lit.zone
    word = "within the last" if op == "within" else "more than"
    label = f"{lit.ref.name} {word} {literal}" + (" ago" if op == "older_than" else "")

    def age(value: Any, now: datetime) -> timedelta | None:
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=zone)
        elif isinstance(value, date):
            moment = datetime.combine(value, time(), zone)
        else:
            return None
        return now - moment

    if op == "within":

        def recent(pair: Any) -> bool:
            delta = age(*pair)
            return delta is not None and delta <= span

        return Compiled(recent, label, needs_now=True)

    def old(pair: Any) -> bool:
        delta = age(*pair)
        return delta is not None and delta > span

    return Compiled(old, label, needs_now=True)


def _window(op: str, literal: Any, lit: Literals) -> Compiled:
    window = parse_window(literal)
    zone = lit.zone

    def inside(value: Any) -> bool:
        return isinstance(value, datetime) and window.contains(value.astimezone(zone).time())

    return Compiled(inside, f"{lit.ref.name} in {window}")


_COMPILERS: Mapping[str, Callable[[str, Any, Literals], Compiled]] = {
    "eq": _eq,
    "ne": _eq,
    "in": _in,
    "not_in": _in,
    "gt": _ordered,
    "gte": _ordered,
    "lt": _ordered,
    "lte": _ordered,
    "between": _between,
    "contains": compile_contains,
    "contains_any": compile_contains,
    "contains_all": compile_contains,
    "starts_with": compile_affix,
    "ends_with": compile_affix,
    "matches": compile_matches,
    "exists": _exists,
    "empty": _empty,
    "within": _age,
    "older_than": _age,
    "window": _window,
}
