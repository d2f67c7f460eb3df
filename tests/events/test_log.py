"""Exposures once per (visitor, experiment, variant, ruleset version); client events and conversions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from smalldata.decision import Exposure
from smalldata.delivery.visit import ClientEvent
from smalldata.events import EventLog

A = Exposure("easter-banner", "a", "easter-banner-test")
B = Exposure("easter-banner", "b", "easter-banner-test")


class Collect:
    """A sink that keeps what it gets."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    async def aclose(self) -> None:
        return None

    def stats(self) -> dict[str, int]:
        return {"emitted": len(self.events)}


def make_log() -> tuple[EventLog, Collect]:
    sink = Collect()
    return EventLog(sink, clock=lambda: datetime(2026, 11, 25, 10, 0, tzinfo=UTC)), sink


def test_an_exposure_is_written_with_everything_a_report_needs() -> None:
    log, sink = make_log()
    log.exposures([A], visitor_id="v1", ruleset_version="r1", path="/pricing")
    assert sink.events == [{
        "type": "exposure", "at": "2026-11-25T10:00:00.000Z", "visitor": "v1", "experiment": "easter-banner",
        "variant": "a", "rule": "easter-banner-test", "version": "r1", "forced": False, "path": "/pricing",
    }]  # fmt: skip


def test_the_same_exposure_is_written_once_per_visitor_variant_and_ruleset_version() -> None:
    log, sink = make_log()
    for _ in range(3):
        log.exposures([A], visitor_id="v1", ruleset_version="r1")
    log.exposures([A], visitor_id="v2", ruleset_version="r1")  # another visitor
    log.exposures([B], visitor_id="v1", ruleset_version="r1")  # another variant (weights changed)
    log.exposures([A], visitor_id="v1", ruleset_version="r2")  # the rules were edited
    assert [(e["visitor"], e["variant"], e["version"]) for e in sink.events] == [
        ("v1", "a", "r1"), ("v2", "a", "r1"), ("v1", "b", "r1"), ("v1", "a", "r2")]
    assert log.duplicates == 2


def test_exposures_returns_only_those_it_wrote() -> None:
    log, _ = make_log()
    assert log.exposures([A], visitor_id="v1", ruleset_version="r1") == [A]
    assert log.exposures([A], visitor_id="v1", ruleset_version="r1") == []


def test_forced_exposures_are_tagged_so_reports_leave_them_out() -> None:
    log, sink = make_log()
    log.exposures([Exposure("easter-banner", "b", "easter-banner-test", forced=True)], visitor_id="v1",
                  ruleset_version="r1")
    assert sink.events[0]["forced"] is True


def test_a_forced_preview_does_not_hide_the_visitors_real_exposure() -> None:
    log, sink = make_log()
    log.exposures([Exposure("easter-banner", "a", "t", forced=True)], visitor_id="v1", ruleset_version="r1")
    log.exposures([Exposure("easter-banner", "a", "t")], visitor_id="v1", ruleset_version="r1")
    assert [e["forced"] for e in sink.events] == [True, False]


def test_a_conversion_with_an_order_id_is_written_once() -> None:
    log, sink = make_log()
    assert log.conversion(visitor_id="v1", value=499.0, currency="DKK", order_id="A-1")
    assert not log.conversion(visitor_id="v1", value=499.0, currency="DKK", order_id="A-1")
    assert log.conversion(visitor_id="v1", value=100.0)
    assert [(e.get("order_id"), e["value"]) for e in sink.events] == [("A-1", 499.0), (None, 100.0)]


def test_client_events_from_the_endpoint_become_events() -> None:
    log, sink = make_log()
    log.client_event(ClientEvent(type="chat_shown", rule="pricing-chat", path="/pricing"), visitor_id="v1")
    log.client_event(ClientEvent(type="chat_accepted", rule="pricing-chat"), visitor_id="v1")
    log.client_event(ClientEvent(type="chat_dismissed", rule="pricing-chat"), visitor_id="v1")
    log.client_event(ClientEvent(type="conversion", value=10, currency="DKK", order_id="o1"), visitor_id="v1")
    assert [(e["type"], e.get("rule")) for e in sink.events] == [
        ("chat_shown", "pricing-chat"), ("chat_accepted", "pricing-chat"), ("chat_dismissed", "pricing-chat"),
        ("conversion", None)]
    assert sink.events[0]["path"] == "/pricing"


def test_events_never_carry_personal_data() -> None:
    log, sink = make_log()
    log.exposures([A], visitor_id="v1", ruleset_version="r1")
    log.conversion(visitor_id="v1", value=1.0)
    text = json.dumps(sink.events)
    assert "ip" not in {key for event in sink.events for key in event}
    assert "@" not in text
