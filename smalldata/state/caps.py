"""Frequency-cap counters: how often a visitor got each capped rule, per visit, day, week and ever.

Each rule keeps one compact row ``[visit, n, day, n, week, n, ever]``: the key of
the current visit (its start time), day (the shop-timezone date) and ISO week
(its Monday), each with its count. A count whose key is not the current one
belongs to an earlier period and reads as 0, so nothing needs expiring.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

__all__ = ["PERIODS", "CapClaim", "CapLedger", "CapView", "Period"]

PERIODS = ("visit", "day", "week", "ever")
_SLOT = {"visit": 0, "day": 2, "week": 4}
_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()
_ROW = 7
_INT = frozenset({int})


class Period(NamedTuple):
    """The keys of "now": the visit (its start, epoch seconds), day and week (epoch days)."""

    visit: int
    day: int
    week: int

    @classmethod
    def at(cls, visit_start: datetime | int, now: datetime) -> Period:
        """Keys at ``now``; ``now`` must be in the shop's timezone, so days turn at its midnight."""
        day = now.toordinal() - _EPOCH_ORDINAL
        start = visit_start if type(visit_start) is int else int(visit_start.timestamp())  # type: ignore[union-attr]
        return cls(start, day, day - now.weekday())

    def key(self, per: str) -> int:
        """The key of the current ``per`` period (0 for ``ever``, which has one)."""
        slot = _SLOT.get(per)
        return 0 if slot is None else self[slot // 2]


class CapClaim(NamedTuple):
    """One showing of a capped rule a request asks to count where every worker sees it.

    ``period`` is the key of the current ``per`` period (:meth:`Period.key`); ``seen`` how
    often the visitor's own state says the rule was applied in it (the shared count
    starts there).
    """

    rule: str
    max: int
    per: str
    period: int
    seen: int

    def key(self, owner: str) -> str:
        """The counter's name for ``owner`` (a visitor id or a user's hash)."""
        return f"{owner}:{self.rule}:{self.per}:{self.period}"


class CapLedger:
    """Counters for capped rules, bounded to ``limit`` rules (the stalest row goes first).

    ``rows`` is edited in place: a visitor's stored ``c`` mapping.
    """

    def __init__(self, rows: dict[str, list[int]] | None = None, limit: int = 24) -> None:
        self.rows: dict[str, list[int]] = rows if rows is not None else {}
        self.limit = limit

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CapLedger) and self.rows == other.rows

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"CapLedger({self.rows!r})"

    def count(self, rule_id: str, per: str, period: Period) -> int:
        """How often ``rule_id`` was applied in the current ``per`` period."""
        row = self.rows.get(rule_id)
        if row is None:
            return 0
        if per == "ever":
            return row[6]
        slot = _SLOT.get(per)
        if slot is None:
            return 0
        return row[slot + 1] if row[slot] == period[slot // 2] else 0

    def hit(self, rule_id: str, period: Period) -> None:
        """Count one more application of ``rule_id`` in every period."""
        row = self.rows.pop(rule_id, None) or [0] * _ROW
        for slot, key in zip((0, 2, 4), period, strict=True):
            row[slot + 1] = row[slot + 1] + 1 if row[slot] == key else 1
            row[slot] = key
        row[6] += 1
        self.rows[rule_id] = row  # re-inserted last: dict order is recency order
        self._bound()

    def merge(self, other: CapLedger) -> None:
        """Fold another device's counters in: the newer key wins, equal keys take the max."""
        for rule_id, theirs in other.rows.items():
            mine = self.rows.get(rule_id)
            self.rows[rule_id] = list(theirs) if mine is None else _merge_rows(mine, theirs)
        self._bound()

    def to_json(self) -> dict[str, list[int]]:
        return {rule_id: list(row) for rule_id, row in self.rows.items()}

    @classmethod
    def from_json(cls, data: Any, limit: int = 24) -> CapLedger | None:
        """The counters in stored ``data`` (bounded in place); ``None`` when the data is malformed."""
        if type(data) is not dict:
            return None
        for row in data.values():
            if not (type(row) is list and len(row) == _ROW and _all_counts(row)):
                return None
        ledger = cls(data, limit)
        ledger._bound()
        return ledger

    def _bound(self) -> None:
        while len(self.rows) > self.limit:
            stalest = min(self.rows, key=lambda rule_id: self.rows[rule_id][2])
            del self.rows[stalest]


class CapView:
    """The engine's ``caps`` argument: ``count(rule_id, per)`` for one visitor at one moment."""

    def __init__(self, ledger: CapLedger, period: Period) -> None:
        self._ledger = ledger
        self._period = period

    def count(self, rule_id: str, per: str) -> int:
        """How often ``rule_id`` was applied this visit / day / week / ever."""
        return self._ledger.count(rule_id, per, self._period)


def _merge_rows(mine: list[int], theirs: list[int]) -> list[int]:
    row = list(mine)
    for slot in (0, 2, 4):
        if theirs[slot] > row[slot]:
            row[slot], row[slot + 1] = theirs[slot], theirs[slot + 1]
        elif theirs[slot] == row[slot]:
            row[slot + 1] = max(row[slot + 1], theirs[slot + 1])
    row[6] = max(row[6], theirs[6])
    return row


def _all_counts(values: list[Any]) -> bool:
    return set(map(type, values)) == _INT and min(values) >= 0
