"""What a condition operator is given and what it gives back.

:class:`Literals` reads a rule's literal for one signal (its kind, its fixed set of
words, its range); :class:`Compiled` is an operator's predicate with what it admits
(:class:`Domain`, for the checks of conditions that can never match). The table
``OPERATORS`` says which kinds of signal each operator applies to; the operators
themselves are :mod:`smalldata.rules.operators` and :mod:`smalldata.rules.text_operators`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from smalldata.foundation.problems import did_you_mean
from smalldata.signals.catalog import Kind, SignalRef, as_text

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
                raise ValueError(f"{self.ref.name} is true or false, not {show(value)}")
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
            raise ValueError(f"{self.ref.name} is a number, not {show(value)}")
        return value

    def text(self, value: Any, op: str = "eq") -> str:
        """A text literal; on a signal with a fixed set of words, one that ``op`` finds in at least one of them."""
        if isinstance(value, bool) or value is None or isinstance(value, list | dict):
            raise ValueError(f"{self.ref.name} holds text, not {show(value)}")
        text = as_text(value)  # the one coercion a source's answer goes through too: 3 and 3.0 are "3"
        if text is None:
            raise ValueError(f"{self.ref.name} holds text, not {show(value)}")
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
        raise ValueError(f"{self.ref.name} is a date; write it as 2026-12-24, not {show(value)}")

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
            f"2026-12-24T18:00, or use a window such as \"08:00-10:00\" — not {show(value)}"
        )

    def many(self, value: Any) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise ValueError(f"expected a list of values such as [a, b], not {show(value)}")
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


def show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        shown = ", ".join(show(v) for v in value[:5])
        return f"[{shown}{', …' if len(value) > 5 else ''}]"
    if isinstance(value, dict):
        return "a mapping"
    return str(value)


def comparable(lit: Literals) -> Callable[[Any], Any]:
    """Bring a signal value to the literal's terms (datetimes compared by date when given a date)."""
    zone = lit.zone
    if lit.kind == "datetime":

        def to_date(value: Any) -> Any:
            return value.astimezone(zone).date() if isinstance(value, datetime) else value

        return to_date
    return lambda value: value
