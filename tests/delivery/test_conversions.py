"""Conversions come from the shop's server: ``record_conversion`` and the token-guarded endpoint.

Browser-posted conversions are an opt-in, can never stop or replace an order the server
records, and a flood of freshly minted cookies cannot use up established shoppers' events.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from smalldata import record_conversion
from smalldata.app import Overrides
from smalldata.delivery.endpoints import Endpoints, EventLimits
from smalldata.events import CallableSink
from smalldata.middleware import SmallData
from smalldata.settings import Settings
from smalldata.tools.report import format_report, summarise

from .helpers import FakePersonaliser

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
TOKEN = "orders-service-token-0123456789"
RULES = """
rules:
  - id: hero-test
    experiment:
      key: hero
      variants:
        - {name: a, weight: 50, then: {banner: {slot: hero, text: "Variant A"}}}
        - {name: b, weight: 50, then: {banner: {slot: hero, text: "Variant B"}}}
"""


async def _page(request: Request) -> Response:
    return HTMLResponse("<html><body><h1>Shop</h1></body></html>")


async def _thanks(request: Request) -> Response:
    """The shop's order confirmation: the order is known here, so it is recorded here."""
    recorded = await record_conversion(request, request.path_params["order"], 849.0, "DKK")
    return PlainTextResponse("recorded" if recorded else "already recorded")


def _shop(tmp_path: Path, events: list[dict[str, Any]], **event_settings: Any) -> SmallData:
    (tmp_path / "rules.yaml").write_text(RULES)
    state = {"secret_keys": ["conversions-key-0123456789"]}
    settings = Settings.model_validate({"rules": str(tmp_path), "state": state, "events": event_settings})
    app = Starlette(routes=[Route("/thanks/{order}", _thanks), Route("/{path:path}", _page)])
    return SmallData(app, settings=settings, overrides=Overrides(clock=lambda: NOW, events=CallableSink(events.append)))


def _conversions(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["order_id"], e.get("value"), e["source"], e["visitor"]) for e in events if e["type"] == "conversion"]


def test_the_order_confirmation_handler_records_the_visitors_order_from_the_server(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    with TestClient(_shop(tmp_path, events)) as client:
        client.get("/")
        visitor = events[0]["visitor"]

        assert client.get("/thanks/A-1042").text == "recorded"

    assert _conversions(events) == [("A-1042", 849.0, "server", visitor)]


def test_an_order_the_server_records_twice_counts_once(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    with TestClient(_shop(tmp_path, events)) as client:
        answers = [client.get("/thanks/A-7").text for _ in range(3)]  # the receipt page reloaded

    assert answers == ["recorded", "already recorded", "already recorded"]
    assert len(_conversions(events)) == 1


async def test_record_conversion_refuses_a_value_that_is_not_a_finite_amount(tmp_path: Path) -> None:
    app = _shop(tmp_path, [])
    scope = {"type": "http", "headers": [], "path": "/thanks"}
    with pytest.raises(ValueError, match="value"):
        await record_conversion(scope, "A-1", float("nan"), "DKK", app=app)


def test_browsers_conversions_are_refused_unless_the_shop_opts_in(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    with TestClient(_shop(tmp_path, events)) as client:
        response = client.post("/_smalldata/events", json={"type": "conversion", "value": 849, "order_id": "A-1"})

    assert response.status_code == 403 and "record_conversion" in response.json()["error"]
    assert _conversions(events) == []


def test_a_browser_posting_an_order_id_first_cannot_drop_or_cheapen_the_real_order(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    with TestClient(_shop(tmp_path, events, browser_conversions=True)) as client:
        client.get("/")  # the attacker, who guessed the next order id
        squatted = client.post("/_smalldata/events", json={"type": "conversion", "value": 0.01, "order_id": "A-9"})
        assert squatted.status_code == 204  # taken, provisionally: a browser's word
        client.cookies.clear()
        client.get("/")  # the shopper who places order A-9
        shopper_id = events[-1]["visitor"]
        assert client.get("/thanks/A-9").text == "recorded"  # the server's order is never a duplicate of it

    report = summarise(events)
    assert ("A-9", 849.0, "server", shopper_id) in _conversions(events)
    assert report.conversion_sources == {"browser": 1, "server": 1}
    counted = {(v.name, v.value) for experiment in report.experiments for v in experiment.variants if v.conversions}
    assert [value for _, value in counted] == [849.0]  # the 0.01 DKK post of its id is left out
    assert "from the shop's server: 1, from browsers: 1" in format_report(report)


def test_the_conversions_endpoint_takes_an_order_only_with_the_bearer_token(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    order = {"order_id": "B-1", "value": 199.5, "currency": "EUR"}
    with TestClient(_shop(tmp_path, events, server_token=TOKEN)) as service:
        refused = service.post("/_smalldata/conversions", json=order, headers={"authorization": "Bearer nope"})
        taken = service.post("/_smalldata/conversions", json=order, headers={"authorization": f"Bearer {TOKEN}"})
        again = service.post("/_smalldata/conversions", json=order, headers={"authorization": f"Bearer {TOKEN}"})

    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert (taken.status_code, taken.json(), again.json()) == (200, {"recorded": True}, {"recorded": False})
    assert _conversions(events) == [("B-1", 199.5, "server", None)]


def test_without_a_token_the_conversions_endpoint_is_not_there(tmp_path: Path) -> None:
    with TestClient(_shop(tmp_path, [])) as client:
        response = client.post("/_smalldata/conversions", json={"order_id": "B-1"},
                               headers={"authorization": "Bearer "})  # fmt: skip
    assert response.status_code == 404


def test_a_flood_of_new_cookies_cannot_use_up_established_shoppers_events() -> None:
    fake, now = FakePersonaliser(), [0.0]
    endpoints = Endpoints(fake, fake, fake, prefix="/_smalldata/", counters=Counter(), clock=lambda: now[0],
                          limits=EventLimits(per_second=1, total_burst=5, browser_conversions=True))  # fmt: skip
    client = TestClient(endpoints)
    minted = iter(range(1000))
    fake.visitor_key = lambda scope: f"minted-{next(minted)}"  # type: ignore[method-assign]
    fake.regular = False
    flood = [client.post("/_smalldata/events", json={"type": "conversion", "value": 1}).status_code for _ in range(20)]

    fake.regular = True  # a shopper whose cookie is older than the flood
    shopper = client.post("/_smalldata/events", json={"type": "conversion", "value": 849, "order_id": "A-1"})

    assert flood.count(429) == 15
    assert shopper.status_code == 204


def test_report_json_says_where_conversions_came_from() -> None:
    events = [{"type": "conversion", "visitor": "v1", "order_id": "A", "value": 1, "source": "server"},
              {"type": "conversion", "visitor": "v2", "order_id": "B", "value": 1}]  # an older line: a browser's
    assert summarise(events).to_json()["conversion_sources"] == {"server": 1, "browser": 1}


def test_minted_cookies_cannot_use_up_the_events_of_a_shopper_who_came_earlier(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    state, events = {"secret_keys": ["conversions-key-0123456789"]}, {"browser_conversions": True, "per_second": 1}
    settings = Settings.model_validate({"rules": str(tmp_path), "state": state, "events": events})
    moment = [NOW.replace(hour=9)]
    app = SmallData(Starlette(routes=[Route("/{path:path}", _page)]), settings=settings,
        overrides=Overrides(clock=lambda: moment[0], events=CallableSink(lambda event: None)))  # fmt: skip
    conversion = {"type": "conversion", "value": 849, "currency": "DKK"}
    with TestClient(app) as shopper, TestClient(app) as attacker:
        shopper.get("/")  # an hour before the flood
        moment[0] = NOW
        statuses = []
        for _ in range(1000):  # each a page view for a fresh cookie, then its conversions
            attacker.cookies.clear()
            attacker.get("/")
            statuses += [attacker.post("/_smalldata/events", json=conversion).status_code for _ in range(5)]
            if statuses[-1] == 429 and statuses.count(429) > 50:
                break

        answer = shopper.post("/_smalldata/events", json={**conversion, "order_id": "A-1"})

    assert statuses.count(429) > 50  # the flood drained the bucket of brand-new cookies
    assert answer.status_code == 204  # not the established shopper's
