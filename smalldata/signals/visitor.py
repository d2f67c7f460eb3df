"""The ``visitor`` signals: who this visitor is to the shop, from their stored state.

Three providers, so that a rule on ``visitor.returning`` converts no time stamp:
:func:`visitor_signals` (id, returning, visits, page views, seconds on site, tags),
:func:`visit_gap_signal` (days since the last visit) and :func:`visitor_times`
(first and last seen). Without state (no storage consent) every value is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    return {
        "visitor.id": state.id,
        "visitor.returning": state.returning,
        "visitor.visits": state.visits,
        "visitor.pageviews": state.pageviews,
        "visitor.seconds_on_site": state.seconds_on_site(request.epoch),
        "visitor.tags": list(state.tags),
    }


def visit_gap_signal(request: Request, signals: RequestSignals) -> Mapping[str, Any]:
    """``visitor.days_since_last_visit``: calendar days in the shop's time zone since the previous
    visit ended (unknown on a first visit; the same for the whole visit)."""
    state = request.state
    previous = state.previous_visit if state is not None else None
    if previous is None:
        return {"visitor.days_since_last_visit": None}
    now = request.now
    days = now.toordinal() - previous.astimezone(now.tzinfo).toordinal()
    return {"visitor.days_since_last_visit": max(0, days)}


def visitor_times(request: Request, signals: RequestSignals) -> Mapping[str, Any]:
    """``visitor.first_seen`` and ``visitor.last_seen`` (the visitor's request before this one),
    in the shop's time zone."""
    state = request.state
    if state is None:
        return dict.fromkeys(TIME_NAMES)
    zone = request.now.tzinfo
    last = state.last_request
    return {
        "visitor.first_seen": state.first_seen.astimezone(zone),
        "visitor.last_seen": last.astimezone(zone) if last is not None else None,
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
