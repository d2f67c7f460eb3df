"""Exposures and client events reach the configured event sink; the health endpoint counts them."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from smalldata.app import Overrides
from smalldata.events import CallableSink
from smalldata.middleware import SmallData
from smalldata.settings import Settings

WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
SETTINGS = Settings.model_validate({"default_language": "en", "state": {"secret_keys": ["events-test-secret-key"]},
                                    "events": {"browser_conversions": True}})

RULES = """
rules:
  - id: hero-test
    experiment:
      key: hero
      variants:
        - {name: a, weight: 50, then: {banner: {slot: hero, text: "Variant A"}}}
        - {name: b, weight: 50, then: {banner: {slot: hero, text: "Variant B"}}}
"""


async def page(request: Request) -> Response:
    return HTMLResponse("<html><body><h1>Shop</h1></body></html>")


async def api(request: Request) -> Response:
    return JSONResponse({"ok": True})


def make_app(rules: Path, **options: Any) -> Starlette:
    (rules / "rules.yaml").write_text(RULES, encoding="utf-8")
    app = Starlette(routes=[Route("/api", api), Route("/{path:path}", page)])
    options.setdefault("settings", SETTINGS)
    overrides = Overrides(clock=lambda: WEDNESDAY_10, events=options.pop("events", None))
    app.add_middleware(SmallData, rules=rules, overrides=overrides, **options)
    return app


@pytest.fixture
def events() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def client(tmp_path: Path, events: list[dict[str, Any]]) -> Any:
    with TestClient(make_app(tmp_path, events=CallableSink(events.append)), client=("127.0.0.1", 50000)) as client:
        yield client  # from the shop's own host: health shows its details


def test_a_visitor_is_exposed_once_per_experiment(client: Any, events: list[dict[str, Any]]) -> None:
    for path in ("/", "/other", "/"):
        client.get(path)
    assert len(events) == 1
    exposure = events[0]
    assert exposure["type"] == "exposure" and exposure["experiment"] == "hero" and exposure["forced"] is False
    assert exposure["variant"] in ("a", "b") and exposure["path"] == "/" and exposure["version"]
    assert exposure["visitor"] and "sd_visitor" in client.cookies


def test_a_response_that_is_not_a_page_exposes_nobody(client: Any, events: list[dict[str, Any]]) -> None:
    client.get("/api")
    assert events == []


@pytest.mark.parametrize(
    ("event", "logged"),
    [
        ({"type": "chat_shown", "rule": "pricing-chat"}, {"type": "chat_shown", "rule": "pricing-chat"}),
        ({"type": "chat_accepted", "rule": "pricing-chat"}, {"type": "chat_accepted", "rule": "pricing-chat"}),
        ({"type": "conversion", "value": 349, "currency": "DKK", "order_id": "A-1"},
         {"type": "conversion", "value": 349, "currency": "DKK", "order_id": "A-1", "source": "browser"}),
    ],
)  # fmt: skip
def test_client_events_are_logged_for_the_visitor(
    client: Any, events: list[dict[str, Any]], event: dict[str, Any], logged: dict[str, Any]
) -> None:
    client.get("/")
    visitor = events[0]["visitor"]
    assert client.post("/_smalldata/events", json={**event, "path": "/pricing"}).status_code == 204
    assert events[-1] == {**logged, "visitor": visitor, "path": "/pricing", "at": events[-1]["at"]}


def test_an_order_converts_once(client: Any, events: list[dict[str, Any]]) -> None:
    for _ in range(2):
        client.post("/_smalldata/events", json={"type": "conversion", "value": 100, "order_id": "A-2"})
    assert [event["order_id"] for event in events if event["type"] == "conversion"] == ["A-2"]


def test_health_counts_the_events(client: Any) -> None:
    client.get("/")
    client.post("/_smalldata/events", json={"type": "conversion", "order_id": "A-3"})
    assert client.get("/_smalldata/health").json()["events"]["emitted"] == 2


def test_events_are_written_to_the_configured_file_by_shutdown(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "smalldata.yaml").write_text("events: {path: var/events.jsonl}\n", encoding="utf-8")
    rules = tmp_path / "rules"
    rules.mkdir()
    app = make_app(rules, config=site / "smalldata.yaml", settings=None)
    with TestClient(app) as client:
        client.get("/")
    lines = (site / "var" / "events.jsonl").read_text(encoding="utf-8").splitlines()  # next to the config
    assert [json.loads(line)["experiment"] for line in lines] == ["hero"]


def test_a_failing_event_sink_leaves_the_page_and_the_cookie(tmp_path: Path) -> None:
    class Broken:
        def emit(self, event: dict[str, Any]) -> None:
            raise RuntimeError("collector down")

        async def aclose(self) -> None:
            return None

        def stats(self) -> dict[str, int]:
            return {}

    with TestClient(make_app(tmp_path, events=Broken())) as client:
        response = client.get("/")
        assert "Variant" in response.text
        assert "sd_visitor=" in response.headers["set-cookie"]
        assert client.post("/_smalldata/events", json={"type": "conversion"}).status_code == 204


@pytest.mark.parametrize("refusal", [{"Sec-GPC": "1"}, {"cookie": "cookie_consent=necessary"}])
def test_with_storage_refused_nothing_tied_to_the_visitor_is_written(
    tmp_path: Path, refusal: dict[str, str]
) -> None:
    from smalldata.state import ConsentSettings

    events: list[dict[str, Any]] = []
    settings = SETTINGS.model_copy(update={"consent": ConsentSettings(cookie="cookie_consent", accepted=("all",))})
    with TestClient(make_app(tmp_path, events=CallableSink(events.append), settings=settings)) as client:
        client.get("/")  # before refusing: a visitor with a cookie and an exposure
        assert events and events[0]["visitor"]
        events.clear()
        cookie = f"sd_visitor={client.cookies['sd_visitor']}"
        headers = {**refusal, "cookie": "; ".join(filter(None, [cookie, refusal.get("cookie")]))}
        client.cookies.clear()
        page = client.get("/", headers=headers)
        for event in ({"type": "chat_shown", "rule": "hero-test"}, {"type": "conversion", "value": 100}):
            assert client.post("/_smalldata/events", json=event, headers=headers).status_code == 204
    assert "set-cookie" not in page.headers
    assert [event["type"] for event in events] == ["chat_shown", "conversion"]
    assert all(event.get("visitor") is None for event in events)


def test_a_cookie_less_flood_does_not_lock_out_other_cookie_less_shoppers(tmp_path: Path) -> None:
    app = make_app(tmp_path, events=CallableSink(lambda event: None))
    flood, shopper = TestClient(app, client=("203.0.113.5", 1000)), TestClient(app, client=("198.51.100.7", 1000))
    with flood, shopper:
        statuses = {flood.post("/_smalldata/events", json={"type": "chat_shown", "rule": "r"}).status_code
                    for _ in range(40)}  # fmt: skip
        assert statuses == {204, 429}
        assert shopper.post("/_smalldata/events", json={"type": "conversion", "value": 100}).status_code == 204
