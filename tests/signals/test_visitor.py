"""The visitor.* signals a rule sees, computed from the visitor's stored state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from smalldata.decision import Decision
from smalldata.signals import visitor
from smalldata.signals.request import Request
from smalldata.state import VisitorState

NAMES = (*visitor.NAMES, *visitor.GAP_NAMES, *visitor.TIME_NAMES)


def visitor_signals(state: VisitorState | None, now: datetime) -> dict[str, Any]:
    """Every visitor.* signal for ``state`` at ``now``, as the three providers answer them."""
    request = Request({"type": "http", "path": "/", "headers": []}, now, state=state)
    values: dict[str, Any] = {}
    for provider in (visitor.visitor_signals, visitor.visit_gap_signal, visitor.visitor_times):
        values.update(provider(request, None))  # type: ignore[arg-type]
    return values

SHOP = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHOP)


def _visit(state: VisitorState, at: datetime) -> dict[str, object]:
    state.touch(at)
    return visitor_signals(state, at)


def test_a_first_time_visitor() -> None:
    state = VisitorState.new(NOW)

    signals = _visit(state, NOW)

    assert signals == {
        "visitor.id": state.id,
        "visitor.returning": False,
        "visitor.visits": 1,
        "visitor.first_seen": NOW,
        "visitor.last_seen": None,
        "visitor.days_since_last_visit": None,
        "visitor.pageviews": 1,
        "visitor.seconds_on_site": 0,
        "visitor.tags": [],
    }


def test_later_pages_of_the_first_visit() -> None:
    state = VisitorState.new(NOW)
    _visit(state, NOW)
    _visit(state, NOW + timedelta(minutes=3))

    signals = _visit(state, NOW + timedelta(minutes=5))

    assert signals["visitor.returning"] is False
    assert signals["visitor.pageviews"] == 3
    assert signals["visitor.seconds_on_site"] == 300
    assert signals["visitor.last_seen"] == NOW + timedelta(minutes=3)


def test_a_returning_visitor() -> None:
    state = VisitorState.new(NOW)
    _visit(state, NOW)
    later = NOW + timedelta(days=3, hours=2)

    signals = _visit(state, later)

    assert signals["visitor.returning"] is True
    assert signals["visitor.visits"] == 2
    assert signals["visitor.pageviews"] == 1
    assert signals["visitor.seconds_on_site"] == 0
    assert signals["visitor.last_seen"] == NOW
    assert signals["visitor.days_since_last_visit"] == 3


def test_days_since_last_visit_counts_shop_calendar_days() -> None:
    # 23:30 one evening and 00:30 the next morning are one calendar day apart in the shop.
    evening = datetime(2026, 11, 25, 23, 30, tzinfo=SHOP)
    state = VisitorState.new(evening)
    _visit(state, evening)

    signals = _visit(state, evening + timedelta(hours=1))

    assert signals["visitor.days_since_last_visit"] == 1


def test_days_since_last_visit_holds_for_the_whole_visit() -> None:
    state = VisitorState.new(NOW)
    _visit(state, NOW)
    _visit(state, NOW + timedelta(days=7))

    signals = _visit(state, NOW + timedelta(days=7, minutes=10))

    assert signals["visitor.days_since_last_visit"] == 7


def test_times_are_given_in_the_shop_timezone() -> None:
    state = VisitorState.new(NOW)

    signals = _visit(state, NOW)

    first_seen = signals["visitor.first_seen"]
    assert isinstance(first_seen, datetime)
    assert first_seen.tzinfo == SHOP
    assert first_seen.hour == 10


def test_tags_added_by_rules_are_visible() -> None:
    state = VisitorState.new(NOW)
    state.touch(NOW)
    state.apply(Decision(tags=["vip"]), NOW)

    assert visitor_signals(state, NOW)["visitor.tags"] == ["vip"]


def test_no_state_means_every_value_is_unknown() -> None:
    assert visitor_signals(None, NOW) == dict.fromkeys(NAMES)


def test_a_stored_visitor_reloaded_before_touch_reports_its_last_request() -> None:
    state = VisitorState.new(NOW)
    state.touch(NOW)
    reloaded = VisitorState.from_json(state.to_json())
    assert reloaded is not None

    assert visitor_signals(reloaded, NOW + timedelta(minutes=1))["visitor.last_seen"] == NOW
