"""Signed preview links through the middleware: the imagined visitor's page, nothing saved, never cached."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from smalldata.app import Overrides
from smalldata.events import CallableSink, NullSink
from smalldata.middleware import SmallData
from smalldata.preview.links import make_preview_url, preview_keys
from smalldata.settings import Settings
from smalldata.state import StateSettings

ZONE = ZoneInfo("Europe/Copenhagen")
WEDNESDAY_21 = datetime(2026, 11, 25, 21, 0, tzinfo=ZONE)  # the shop is closed
SETTINGS = Settings(
    opening_hours={"wed": "09:00-17:00"},
    default_language="en",
    state=StateSettings(secret_keys=(SecretStr("preview-test-secret-key"),)),
)
KEY = preview_keys(SETTINGS.preview, SETTINGS.state)[0]

RULES = """
rules:
  - id: swedish-greeting
    when: {geo.country: SE}
    then: {greeting: "Hej Sverige"}
  - id: hello
    priority: -1
    then: {greeting: "Hello"}
  - id: open-chat
    when: {page.path: /pricing, time.open: true}
    then: {chat: {after_seconds: 5, message: "We are here"}}
    cap: {max: 1, per: day}
  - id: one-offer-a-visit
    when: {page.path: /offer}
    then: {banner: {slot: offer, text: "10 % off today"}}
    cap: {max: 1, per: visit}
  - id: hero-test
    experiment:
      key: hero
      variants:
        - {name: a, weight: 50, then: {banner: {slot: hero, text: "Variant A"}}}
        - {name: b, weight: 50, then: {banner: {slot: hero, text: "Variant B"}}}
"""


async def page(request: Request) -> Response:
    return HTMLResponse("<html><body><h1>Shop</h1></body></html>", headers={"Cache-Control": "public, max-age=60"})


@pytest.fixture
def events() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def client(tmp_path: Path, events: list[dict[str, Any]]) -> Any:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    app = Starlette(routes=[Route("/{path:path}", page)])
    app.add_middleware(
        SmallData, rules=tmp_path, settings=SETTINGS,
            overrides=Overrides(clock=lambda: WEDNESDAY_21, events=CallableSink(events.append))
    )
    with TestClient(app) as client:
        yield client


def link(path: str = "/", *, key: bytes = KEY, now: datetime = WEDNESDAY_21, ttl: int = 3600, **options: Any) -> str:
    return make_preview_url(
        path,
        sets=options.get("sets", {}),
        at=options.get("at"),
        variants=options.get("variants", {}),
        secret=key,
        ttl_seconds=ttl,
        now=now,
    )


def payload(response: Any) -> dict[str, Any]:
    match = re.search(r'id="smalldata">(.*?)</script>', response.text)
    assert match, "no payload on the page"
    result: dict[str, Any] = json.loads(match.group(1))
    return result


def test_a_preview_shows_the_overridden_signals(client: Any) -> None:
    response = client.get(link("/", sets={"geo.country": "SE"}))
    assert payload(response)["decision"]["greeting"] == "Hej Sverige"


def test_a_preview_forces_the_variant(client: Any) -> None:
    for variant, text in [("a", "Variant A"), ("b", "Variant B")]:
        banners = payload(client.get(link("/", variants={"hero": variant})))["decision"]["banners"]
        assert banners["hero"]["html"] == text


def test_a_preview_runs_at_its_moment(client: Any) -> None:
    assert payload(client.get("/pricing"))["decision"]["chat"] is None  # 21:00: closed
    morning = WEDNESDAY_21.replace(hour=10)
    assert payload(client.get(link("/pricing", at=morning)))["decision"]["chat"]["message"] == "We are here"


def test_a_preview_is_never_cached_and_sets_no_cookie(client: Any) -> None:
    response = client.get(link("/", sets={"geo.country": "SE"}))
    assert response.headers["cache-control"] == "private, no-store"
    assert "set-cookie" not in response.headers


def test_a_preview_uses_up_no_cap(client: Any) -> None:
    client.get("/")  # a visitor with a cookie
    for _ in range(2):
        assert "offer" in payload(client.get(link("/offer")))["decision"]["banners"]
    assert "offer" in payload(client.get("/offer"))["decision"]["banners"]
    assert "offer" not in payload(client.get("/offer"))["decision"]["banners"]  # the cap still works


def test_preview_exposures_are_logged_as_forced_and_not_announced(client: Any, events: list[dict[str, Any]]) -> None:
    response = client.get(link("/", variants={"hero": "b"}))
    assert payload(response)["exposures"] == []  # the shop's analytics hear nothing
    assert [(e["experiment"], e["variant"], e["forced"]) for e in events] == [("hero", "b", True)]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda url: url[:-1] + ("A" if url[-1] != "A" else "B"), id="signature"),
        pytest.param(lambda url: _swap_payload(url), id="payload"),
        pytest.param(lambda url: url.split("?")[0] + "?sd_preview=v1.e30.", id="unsigned"),
        pytest.param(lambda url: link("/", key=b"x" * 32, sets={"geo.country": "SE"}), id="wrong key"),
        pytest.param(
            lambda url: link("/", now=WEDNESDAY_21 - timedelta(hours=2), ttl=3600, sets={"geo.country": "SE"}),
            id="expired",
        ),
    ],
)
def test_a_bad_token_shows_the_normal_page(client: Any, tamper: Any) -> None:
    response = client.get(tamper(link("/", sets={"geo.country": "SE"})))
    assert payload(response)["decision"]["greeting"] == "Hello"
    assert response.headers["cache-control"] == "private, max-age=60"
    assert "sd_visitor=" in response.headers["set-cookie"]


def _swap_payload(url: str) -> str:
    """The token's signature on the payload of another token."""
    other = link("/", sets={"geo.country": "NO"})
    head, _, token = url.partition("sd_preview=")
    version, _, signature = token.split(".")
    return f"{head}sd_preview={version}.{other.split('.')[1]}.{signature}"


def test_decide_answers_for_a_preview_link(client: Any) -> None:
    path = link("/pricing", at=WEDNESDAY_21.replace(hour=10))
    response = client.get("/_smalldata/decide?path=" + quote(path, safe=""))
    assert response.json()["decision"]["chat"]["message"] == "We are here"
    assert response.headers["cache-control"] == "private, no-store"
    assert "set-cookie" not in response.headers


def test_previews_can_be_switched_off(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    settings = SETTINGS.model_copy(update={"preview": SETTINGS.preview.model_copy(update={"enabled": False})})
    app = Starlette(routes=[Route("/{path:path}", page)])
    app.add_middleware(SmallData, rules=tmp_path, settings=settings,
        overrides=Overrides(clock=lambda: WEDNESDAY_21, events=NullSink()))
    with TestClient(app) as client:
        response = client.get(link("/", sets={"geo.country": "SE"}))
    assert payload(response)["decision"]["greeting"] == "Hello"
