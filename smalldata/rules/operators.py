"""The condition operators: for each, which signal kinds it accepts and how it compiles.

An operator compiles, once at load time, a literal from the rule file into a
predicate over the signal's value. Literal problems (a word where a number
belongs, a regex that does not compile) raise ``ValueError`` with a message
for people; the compiler adds the file position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sized
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import re2

from smalldata.problems import did_you_mean
from smalldata.rules.durations import parse_duration, parse_window
from smalldata.signals.catalog import Kind, SignalRef

Predicate = Callable[[Any], bool]
MAX_PATTERN = 500

SCALAR: frozenset[Kind] = frozenset({"bool", "number", "text", "date", "datetime"})
ORDERED: frozenset[Kind] = frozenset({"number", "date", "datetime"})
ALL_KINDS: frozenset[Kind] = frozenset({*SCALAR, "list", "map", "records"})

# operator → the kinds of signal it applies to
OPERATORS: dict[str, frozenset[Kind]] = {
    "eq": ALL_KINDS,
    "ne": ALL_KINDS,
    "in": SCALAR,
    "not_in": SCALAR,
    "gt": ORDERED,
    "gte": ORDERED,
    "lt": ORDERED,
    "lte": ORDERED,
    "between": ORDERED,
    "contains": frozenset({"list", "text"}),
    "contains_any": frozenset({"list", "text"}),
    "contains_all": frozenset({"list", "text"}),
    "starts_with": frozenset({"text"}),
    "ends_with": frozenset({"text"}),
    "matches": frozenset({"text"}),
    "exists": ALL_KINDS,
    "empty": frozenset({"text", "list", "map", "records"}),
    "within": frozenset({"datetime", "date"}),
    "older_than": frozenset({"datetime", "date"}),
    "window": frozenset({"datetime"}),
}

# operators that can match an unknown (null) value; every other one is false on null
NULL_AWARE = frozenset({"exists", "eq", "ne"})

KIND_WORDS: dict[Kind, str] = {
    "bool": "true or false", "number": "a number", "text": "text", "datetime": "a moment in time",
    "date": "a date", "list": "a list", "map": "a mapping", "records": "a list of records",
}


@dataclass(frozen=True)
class Interval:
    """The numbers an ordered condition admits, for spotting conditions that can never match."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def meet(self, other: Interval) -> Interval:
        low, low_open = max((self.low, self.low_open), (other.low, other.low_open))
        high, high_open = min((self.high, not self.high_open), (other.high, not other.high_open))
        return Interval(low, high, low_open, not high_open)

    @property
    def empty(self) -> bool:
        return self.low > self.high or (self.low == self.high and (self.low_open or self.high_open))

    def admits(self, value: float) -> bool:
        return not Interval(value, value).meet(self).empty


@dataclass(frozen=True)
class Domain:
    """What a single-signal condition admits: a set of values, an interval, or (None) anything."""

    values: frozenset[Any] | None = None
    excluded: frozenset[Any] = frozenset()
    interval: Interval | None = None
    null: bool | None = None  # True: only null; False: never null; None: either


@dataclass(frozen=True)
class Compiled:
    """An operator compiled against a literal."""

    predicate: Predicate
    label: str
    domain: Domain | None = None
    needs_now: bool = False
    null_aware: bool = False
    # (operator, literal) when the predicate is a plain comparison the fused condition may inline
    inline: tuple[str, Any] | None = None
    # for a list signal: it holds only when the list has one of these items (what the rule index keys on)
    items: frozenset[Any] | None = None


class Literals:
    """Checks and converts literals for one signal reference."""

    def __init__(self, ref: SignalRef, zone: ZoneInfo) -> None:
        self.ref = ref
        self.kind = ref.kind
        self.spec = ref.value_spec
        self.zone = zone

    def scalar(self, value: Any) -> Any:
        """A literal compared with the signal's value (or an element of it, for lists)."""
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{self.ref.name} is true or false, not {_show(value)}")
            return value
        if kind == "number":
            return self.number(value)
        if kind in ("text", "list"):
            return self.text(value)
        if kind == "date":
            return self.day(value)
        if kind == "datetime":
            return self.moment(value)
        raise ValueError(f"{self.ref.name} is {KIND_WORDS[kind]}; only 'exists' and 'empty' apply to it")

    def number(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ValueError(f"{self.ref.name} is a number, not {_show(value)}")
        return value

    def text(self, value: Any, op: str = "eq") -> str:
        """A text literal; on a signal with a fixed set of words, one that ``op`` finds in at least one of them."""
        if isinstance(value, bool) or value is None or isinstance(value, list | dict):
            raise ValueError(f"{self.ref.name} holds text, not {_show(value)}")
        text = str(value)
        choices = self.spec.choices
        fits = _FITS.get(op, _FITS["eq"])
        if choices and not any(fits(choice, text) for choice in choices):
            if fits is _FITS["eq"]:
                hint = did_you_mean(text.lower(), choices) or f" (one of {', '.join(choices)})"
                raise ValueError(f"{self.ref.name} is never '{text}'{hint}")
            self.never(f"{_VERBS[op]} '{text}'")
        return text

    def texts(self, value: Any, op: str = "eq") -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ValueError("give at least one value")
        return tuple(str(self.text(item, op)) for item in items)

    def never(self, what: str) -> None:
        """Raise: no word of this signal's fixed set ``what`` (e.g. "starts with 'x'")."""
        raise ValueError(f"{self.ref.name} never {what} (it is one of {', '.join(self.spec.choices)})")

    def day(self, value: Any) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ValueError(f"{self.ref.name} is a date; write it as 2026-12-24, not {_show(value)}")

    def moment(self, value: Any) -> datetime | date:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=self.zone)
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value) if len(value) == 10 else self.moment(datetime.fromisoformat(value))
            except ValueError:
                pass
        raise ValueError(
            f"{self.ref.name} is a moment in time; compare it with a date such as 2026-12-24 or a time such as "
            f"2026-12-24T18:00, or use a window such as \"08:00-10:00\" — not {_show(value)}"
        )

    def many(self, value: Any) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise ValueError(f"expected a list of values such as [a, b], not {_show(value)}")
        return [self.scalar(item) for item in value]

    def bounds(self) -> Interval:
        spec = self.spec
        low = spec.lower if spec.lower is not None else -math.inf
        high = spec.upper if spec.upper is not None else math.inf
        return Interval(low, high)


# how a text operator finds its literal in a word (for signals with a fixed set of words)
_FITS: Mapping[str, Callable[[str, str], bool]] = {
    "eq": lambda word, text: word == text,
    "contains": lambda word, text: text in word,
    "starts_with": lambda word, text: word.startswith(text),
    "ends_with": lambda word, text: word.endswith(text),
}
_VERBS = {"contains": "contains", "starts_with": "starts with", "ends_with": "ends with"}


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        shown = ", ".join(_show(v) for v in value[:5])
        return f"[{shown}{', …' if len(value) > 5 else ''}]"
    if isinstance(value, dict):
        return "a mapping"
    return str(value)


def _comparable(lit: Literals) -> Callable[[Any], Any]:
    """Bring a signal value to the literal's terms (datetimes compared by date when given a date)."""
    zone = lit.zone
    if lit.kind == "datetime":

        def to_date(value: Any) -> Any:
            return value.astimezone(zone).date() if isinstance(value, datetime) else value

        return to_date
    return lambda value: value


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
        conv = _comparable(lit)
        equal: Predicate = lambda v: conv(v) == value  # noqa: E731
        inline = None
    else:  # the common case calls nothing but the comparison
        equal = (lambda v: v is value) if isinstance(value, bool) else (lambda v: v == value)
        inline = ("is" if isinstance(value, bool) else "eq", value)
    if op == "eq":
        shown = f"{name} is {_show(value)}" if isinstance(value, bool) else f"{name} = {_show(value)}"
        return Compiled(equal, shown, Domain(values=frozenset([value])), inline=inline)
    return Compiled(
        lambda v: v is not None and not equal(v), f"{name} ≠ {_show(value)}", Domain(excluded=frozenset([value])),
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
    shown = ", ".join(sorted(_show(v) for v in values))
    # a time stamp is compared by its day in the shop's time zone when the list holds dates
    conv = _comparable(lit) if lit.kind == "datetime" else None
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
    label = f"{lit.ref.name} {symbol} {_show(value)}"
    if isinstance(value, date) and not isinstance(value, datetime):
        conv = _comparable(lit)
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
        return _comparable(lit)
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
        raise ValueError(f"between takes two values, [low, high], not {_show(literal)}")
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
    label = f"{name} between {_show(low)} and {_show(high)}"
    try:
        backwards = low > high
    except TypeError:
        raise ValueError("between takes two values of the same kind") from None
    if backwards:
        if not cycle:
            raise ValueError(
                f"between [{_show(low)}, {_show(high)}] can never match: the low end is above the high end"
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


def _contains(op: str, literal: Any, lit: Literals) -> Compiled:
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
        raise ValueError(f"{op} takes a list such as [a, b], not {_show(literal)}")
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


def _affix(op: str, literal: Any, lit: Literals) -> Compiled:
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


def _matches(op: str, literal: Any, lit: Literals) -> Compiled:
    if not isinstance(literal, str) or not literal:
        raise ValueError(f"matches takes a regular expression in quotes, not {_show(literal)}")
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


def _exists(op: str, literal: Any, lit: Literals) -> Compiled:
    if not isinstance(literal, bool):
        raise ValueError(f"exists is true or false, not {_show(literal)}")
    name = lit.ref.name
    if literal:
        return Compiled(lambda v: v is not None, f"{name} is known", Domain(null=False), null_aware=True)
    return Compiled(lambda v: v is None, f"{name} is unknown", Domain(null=True), null_aware=True)


def _empty(op: str, literal: Any, lit: Literals) -> Compiled:
    if not isinstance(literal, bool):
        raise ValueError(f"empty is true or false, not {_show(literal)}")
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
    "contains": _contains,
    "contains_any": _contains,
    "contains_all": _contains,
    "starts_with": _affix,
    "ends_with": _affix,
    "matches": _matches,
    "exists": _exists,
    "empty": _empty,
    "within": _age,
    "older_than": _age,
    "window": _window,
}
