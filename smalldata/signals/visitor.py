"""The ``visitor`` signals: who this visitor is to the shop, from their stored state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from smalldata.state.model import VisitorState

__all__ = ["NAMES", "visitor_signals", "visitor_values"]

NAMES = (
    "visitor.id",
    "visitor.returning",
    "visitor.visits",
    "visitor.first_seen",
    "visitor.last_seen",
    "visitor.days_since_last_visit",
    "visitor.pageviews",
    "visitor.seconds_on_site",
    "visitor.tags",
)


def visitor_signals(state: VisitorState | None, now: datetime) -> dict[str, Any]:
    """The ``visitor.*`` values for ``state`` at ``now`` (aware, in the shop's timezone).

    Call it after ``state.touch(now)``: ``last_seen`` is then the visitor's previous
    request, not this one. Without state (no storage consent) every value is unknown.
    ``days_since_last_visit`` counts calendar days in the shop's timezone from the
    last request of the previous visit (unknown on a first visit).
    """
    return {f"visitor.{name}": value for name, value in visitor_values(state, now).items()}


def visitor_values(state: VisitorState | None, now: datetime) -> dict[str, Any]:
    """:func:`visitor_signals` with short names (``{"id": ...}``), as the provider answers."""
    if state is None:
        return dict.fromkeys(_SHORT)
    zone = now.tzinfo
    last_seen = state.previous_seen if state.touched else state.last_seen
    start = state.visit_start
    return {
        "id": state.id,
        "returning": state.returning,
        "visits": state.visits,
        "first_seen": state.first_seen.astimezone(zone),
        "last_seen": last_seen.astimezone(zone) if last_seen else None,
        "days_since_last_visit": _days_between(state.previous_visit, now),
        "pageviews": state.pageviews,
        "seconds_on_site": max(0, int((now - start).total_seconds())) if start else 0,
        "tags": list(state.tags),
    }


_SHORT = tuple(name.partition(".")[2] for name in NAMES)


def _days_between(then: datetime | None, now: datetime) -> int | None:
    if then is None:
        return None
    return max(0, (now.date() - then.astimezone(now.tzinfo).date()).days)
