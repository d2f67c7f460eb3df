"""The ``visitor`` signals: who this visitor is to the shop, from their stored state.

Three providers, so that a rule on ``visitor.returning`` converts no time stamp:
:func:`visitor_signals` (id, returning, visits, page views, seconds on site, tags),
:func:`visit_gap_signal` (days since the last visit) and :func:`visitor_times`
(first and last seen). Without state (no storage consent) every value is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from smalldata.signals.spec import Group, Namespace, signal

if TYPE_CHECKING:
    from smalldata.signals.request import Request, RequestSignals

__all__ = ["GAP_NAMES", "NAMES", "TIME_NAMES", "visit_gap_signal", "visitor_signals", "visitor_times"]

NAMES = ("visitor.id", "visitor.returning", "visitor.visits", "visitor.pageviews", "visitor.seconds_on_site",
         "visitor.tags")  # fmt: skip
GAP_NAMES = ("visitor.days_since_last_visit",)
TIME_NAMES = ("visitor.first_seen", "visitor.last_seen")
_UNKNOWN = dict.fromkeys(NAMES)


def visitor_signals(request: Request, signals: RequestSignals) -> Mapping[str, Any]:
    """``visitor.id``, ``returning``, ``visits``, ``pageviews``, ``seconds_on_site`` and ``tags``.

    Read after the state counted this request (``touch``): this page is part of the visit.
    """
    state = request.state
    if state is None:
        return _UNKNOWN
    data = state.data
    visits = data.get("n", 0)
    start = data.get("s")
    return {
        "visitor.id": data["i"],
        "visitor.returning": visits > 1 or "q" in data,
        "visitor.visits": visits,
        "visitor.pageviews": data.get("p", 0),
        "visitor.seconds_on_site": max(0, request.epoch - start) if start else 0,
        "visitor.tags": list(data.get("t") or ()),
    }


def visit_gap_signal(request: Request, signals: RequestSignals) -> Mapping[str, Any]:
    """``visitor.days_since_last_visit``: calendar days in the shop's time zone since the previous
    visit ended (unknown on a first visit; the same for the whole visit)."""
    state = request.state
    previous = state.data.get("q") if state is not None else None
    if previous is None:
        return {"visitor.days_since_last_visit": None}
    now = request.now
    days = now.toordinal() - datetime.fromtimestamp(previous, now.tzinfo).toordinal()
    return {"visitor.days_since_last_visit": max(0, days)}


def visitor_times(request: Request, signals: RequestSignals) -> Mapping[str, Any]:
    """``visitor.first_seen`` and ``visitor.last_seen`` (the visitor's request before this one),
    in the shop's time zone."""
    state = request.state
    if state is None:
        return dict.fromkeys(TIME_NAMES)
    zone = request.now.tzinfo
    last = state.previous_last if state.touched else state.data.get("l")
    return {
        "visitor.first_seen": datetime.fromtimestamp(state.data["f"], zone),
        "visitor.last_seen": datetime.fromtimestamp(last, zone) if last is not None else None,
    }


#: The ``visitor`` namespace (see :mod:`smalldata.signals.spec`): read from the visitor's stored state.
NAMESPACE = Namespace(
    "visitor",
    signals=(
        signal("visitor.id", "text", "the visitor's pseudonymous id"),
        signal("visitor.returning", "bool", "seen in an earlier visit"),
        signal("visitor.visits", "number", "number of visits (a visit ends after 30 minutes idle)", lower=0),
        signal("visitor.first_seen", "datetime", "when the visitor was first seen"),
        signal("visitor.last_seen", "datetime", "the visitor's previous request before this one"),
        signal("visitor.days_since_last_visit", "number", "days since the previous visit", lower=0),
        signal("visitor.pageviews", "number", "page views in this visit", lower=0),
        signal("visitor.seconds_on_site", "number", "seconds since this visit began", lower=0),
        signal("visitor.tags", "list", "tags added by rules"),
    ),
    groups=(
        Group(NAMES, lambda parts: visitor_signals),
        Group(GAP_NAMES, lambda parts: visit_gap_signal),
        Group(TIME_NAMES, lambda parts: visitor_times),
    ),
    stored=True,
)
