"""The request plan at work: a request computes only what its rules read, and writes state only when it changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from smalldata.app import Overrides, Parts, build
from smalldata.events import NullSink
from smalldata.middleware import SmallData
from smalldata.settings import Settings
from smalldata.signals.config import PageSettings, UserSettings
from smalldata.signals.request import Request, RequestSignals
from smalldata.state import StateSettings

ZONE = ZoneInfo("Europe/Copenhagen")
SETTINGS = Settings(
    timezone="Europe/Copenhagen",
    opening_hours={"wed": "09:00-17:00"},
    page=PageSettings(product="/products/{product}"),
    user=UserSettings(session_key="user"),
    state=StateSettings(secret_keys=(SecretStr("plan-test-secret-key-0123456789"),)),
)
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Version/17.1 Mobile/15E148"


async def page(request: StarletteRequest) -> Response:
    return HTMLResponse("<html><body><h1>Shop</h1></body></html>")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)

    def __call__(self) -> datetime:
        return self.now


def shop(rules: str, tmp_path: Path, clock: Callable[[], datetime] | None = None) -> tuple[TestClient, Parts]:
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    parts = build(rules=tmp_path, settings=SETTINGS, overrides=Overrides(events=NullSink(), clock=clock))
    app = Starlette(routes=[Route("/{path:path}", page)])
    app.add_middleware(SmallData.from_parts, parts=parts)
    return TestClient(app, headers={"user-agent": IPHONE, "accept-language": "da"}), parts


def record_groups(parts: Parts) -> list[str]:
    """Every signal group a request computes, in order (the providers are wrapped where requests find them)."""
    providers = parts.pages.providers.map  # type: ignore[attr-defined]
    ran: list[str] = []

    def recording(provider: Any, group: str) -> Any:
        def run(request: Request, signals: RequestSignals) -> Any:
            ran.append(group)
            return provider(request, signals)

        return run

    for name, provider in list(providers.by_name.items()):
        providers.by_name[name] = recording(provider, name.partition(".")[0])
    return ran


@pytest.mark.parametrize(
    ("when", "computed"),
    [
        pytest.param("{page.path: /}", {"page"}, id="page only"),
        pytest.param("{device.type: mobile}", {"page", "device"}, id="device type"),
        pytest.param("{geo.country: DK}", {"page", "geo"}, id="geo"),
        pytest.param("{time.open: true}", {"page", "time"}, id="time"),
        pytest.param("{visitor.returning: true}", {"page", "visitor"}, id="visitor"),
    ],
)
def test_a_request_computes_only_the_namespaces_its_rules_read(tmp_path: Path, when: str, computed: set[str]) -> None:
    # ("page" always runs: the visitor's history remembers the product or category a page shows)
    client, parts = shop(f"rules:\n  - id: r\n    when: {when}\n    then: {{tag: seen}}\n", tmp_path)
    ran = record_groups(parts)
    with client:
        client.get("/")
        client.get("/products/p1?utm_source=news")
    assert set(ran) == computed


def test_a_rule_on_the_device_type_never_parses_the_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from smalldata.signals import device

    parsed: list[str] = []
    monkeypatch.setattr(device.DeviceSoftware, "_parse", lambda self, ua: parsed.append(ua) or {})
    client, _ = shop("rules:\n  - id: r\n    when: {device.type: mobile}\n    then: {greeting: Hi}\n", tmp_path)
    with client:
        assert "Hi" in client.get("/").text
    assert parsed == []

    client, _ = shop("rules:\n  - id: r\n    when: {device.browser: Safari}\n    then: {greeting: Hi}\n", tmp_path)
    with client:
        client.get("/")
    assert parsed == [IPHONE]


NOTHING_CHANGES = "rules:\n  - id: hi\n    when: {visitor.returning: true}\n    then: {greeting: Welcome back}\n"


def test_an_unchanged_visitor_gets_no_set_cookie(tmp_path: Path) -> None:
    clock = Clock()
    client, _ = shop(NOTHING_CHANGES, tmp_path, clock)
    with client:
        assert "set-cookie" in client.get("/").headers  # a new visitor: their first state

        clock.now += timedelta(seconds=20)  # the same minute of their visit, a page that shows no product
        second = client.get("/about")
        assert "set-cookie" not in second.headers
        assert second.headers["cache-control"] == "private"  # still their own page

        clock.now += timedelta(minutes=2)  # later: "last seen" moves on, so the state is written
        assert "set-cookie" in client.get("/about").headers

        clock.now += timedelta(seconds=5)
        assert "set-cookie" in client.get("/products/p1").headers  # the history remembers the product
        clock.now += timedelta(seconds=5)
        assert "set-cookie" not in client.get("/products/p1").headers  # already remembered, nothing new


def test_page_views_are_written_when_a_rule_counts_them(tmp_path: Path) -> None:
    clock = Clock()
    rules = "rules:\n  - id: third\n    when: {visitor.pageviews: {gte: 3}}\n    then: {greeting: Third page}\n"
    client, _ = shop(rules, tmp_path, clock)
    with client:
        for _ in range(2):
            assert "set-cookie" in client.get("/about").headers
            clock.now += timedelta(seconds=1)
        third = client.get("/about")
    assert "set-cookie" in third.headers
    assert "Third page" in third.text
