"""The middleware with the real rules, signals and visitor state: reloads, caps, consent, fail-open."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from smalldata.app import Overrides
from smalldata.events import NullSink
from smalldata.foundation.problems import ProblemsError
from smalldata.middleware import SmallData
from smalldata.settings import Settings
from smalldata.signals.config import PageSettings, UserSettings
from smalldata.state import CookieStore, MemoryStore, StateSettings

ZONE = ZoneInfo("Europe/Copenhagen")
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)
SETTINGS = Settings(timezone="Europe/Copenhagen", opening_hours={"wed": "09:00-17:00"}, default_language="en")

RULES = """
rules:
  - id: hello
    when: {page.path: {starts_with: /}}
    then:
      greeting: "{greeting}"
  - id: pricing-chat
    when: {page.path: /pricing}
    then:
      chat: {after_seconds: 5, message: "Questions?", only_when_open: true}
    cap: {max: 1, per: day}
"""


def write_rules(folder: Path, greeting: str = "Hello") -> None:
    (folder / "rules.yaml").write_text(RULES.replace("{greeting}", greeting), encoding="utf-8")


async def page(request: Request) -> Response:
    return HTMLResponse("<html><body><h1>Shop</h1></body></html>")


async def api(request: Request) -> Response:
    return JSONResponse({"ok": True})


def make_client(rules: Path, **options: Any) -> TestClient:
    app = Starlette(routes=[Route("/api", api), Route("/{path:path}", page)])
    store = CookieStore(StateSettings(secret_keys=(SecretStr("test-secret-key-0123456789"),)))
    options.setdefault("settings", SETTINGS)
    overrides = Overrides(clock=lambda: WEDNESDAY_10, store=store, events=options.pop("events", NullSink()))
    app.add_middleware(SmallData, rules=rules, overrides=overrides, **options)
    return TestClient(app, client=("127.0.0.1", 50000))  # the shop's own host: health shows its details


def decision(response: Any) -> dict[str, Any] | None:
    match = re.search(r'id="smalldata">(.*?)</script>', response.text)
    return json.loads(match.group(1))["decision"] if match else None


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    write_rules(tmp_path)
    return tmp_path


def test_a_page_gets_the_rules_decision_and_a_visitor_cookie(rules: Path) -> None:
    with make_client(rules) as client:
        response = client.get("/")
    assert decision(response)["greeting"] == "Hello"  # type: ignore[index]
    assert response.headers["cache-control"] == "private"
    assert "sd_visitor=" in response.headers["set-cookie"]


def test_broken_rules_at_start_up_fail_loudly(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("rules:\n  - id: x\n    when: {vistor.returning: true}\n    then: {tag: x}\n")
    with pytest.raises(ProblemsError, match=r"did you mean 'visitor\.returning'"), make_client(tmp_path):
        pass


def live_rules(client: TestClient) -> Any:
    """The app's live rules (and their watcher)."""
    return client.app.middleware_stack.app.pages.rules  # type: ignore[attr-defined]


def reload_after(client: TestClient, edit: Callable[[], object]) -> None:
    """Edit the rules folder and wait for the watcher's signal that it caught up (no fixed sleep)."""
    live = live_rules(client)
    handled = live.changes_handled
    edit()
    client.portal.call(live.changed_since, handled)  # type: ignore[union-attr]


def test_a_saved_rule_is_live_on_the_very_next_request(rules: Path) -> None:
    with make_client(rules) as client:
        assert decision(client.get("/"))["greeting"] == "Hello"  # type: ignore[index]
        reload_after(client, lambda: write_rules(rules, greeting="Hello again"))

        assert decision(client.get("/"))["greeting"] == "Hello again"  # type: ignore[index]  # no request before it


def test_edited_rules_are_picked_up_and_a_broken_edit_keeps_the_last_good_ones(
    rules: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with make_client(rules) as client:
        with caplog.at_level(logging.ERROR, logger="smalldata"):
            reload_after(client, lambda: (rules / "rules.yaml").write_text("rules: [\n", encoding="utf-8"))
            assert decision(client.get("/"))["greeting"] == "Hello"  # type: ignore[index]
        health = client.get("/_smalldata/health").json()
        assert health["status"] == "degraded"
        assert health["errors"] and "rules.yaml" in health["errors"][0]
        assert "not reloaded" in caplog.text

        reload_after(client, lambda: write_rules(rules, greeting="Hello again"))
        assert decision(client.get("/"))["greeting"] == "Hello again"  # type: ignore[index]
        health = client.get("/_smalldata/health").json()
        assert (health["status"], health["errors"], health["reloads"]) == ("ok", [], 1)


def test_health_reflects_the_files_on_disk_without_waiting_for_a_page(rules: Path) -> None:
    with make_client(rules) as client:  # the files are looked at once a second on pages; health looks at once
        (rules / "rules.yaml").write_text("rules: [\n", encoding="utf-8")
        broken = client.get("/_smalldata/health").json()
        write_rules(rules, greeting="Hello again")
        (rules / "more.yaml").write_text("rules:\n  - id: more\n    then: {tag: more}\n", encoding="utf-8")
        fixed = client.get("/_smalldata/health").json()
        assert decision(client.get("/"))["greeting"] == "Hello again"  # type: ignore[index]
    assert (broken["status"], broken["rules"]) == ("degraded", 2)
    assert "rules.yaml" in broken["errors"][0]
    assert (fixed["status"], fixed["rules"], fixed["errors"], fixed["reloads"]) == ("ok", 3, [], 1)
    assert fixed["ruleset_version"] != broken["ruleset_version"]


def test_capped_chat_is_used_up_by_a_page_view_but_not_by_an_api_call(rules: Path) -> None:
    with make_client(rules) as client:
        client.get("/api")
        assert decision(client.get("/pricing"))["chat"]["message"] == "Questions?"  # type: ignore[index]
        assert decision(client.get("/pricing"))["chat"] is None  # type: ignore[index]


def test_dismissed_chat_stays_away_for_the_day(rules: Path) -> None:
    text = (rules / "rules.yaml").read_text().replace("cap: {max: 1, per: day}", "")
    (rules / "rules.yaml").write_text(text)
    with make_client(rules) as client:
        client.get("/")
        response = client.post("/_smalldata/events", json={"type": "chat_dismissed", "rule": "pricing-chat"})
        assert response.status_code == 204
        assert decision(client.get("/pricing"))["chat"] is None  # type: ignore[index]


def test_decide_endpoint_answers_for_another_path(rules: Path) -> None:
    with make_client(rules) as client:
        response = client.get("/_smalldata/decide", params={"path": "/pricing"})
    assert response.headers["cache-control"] == "private, no-store"
    assert response.json()["decision"]["chat"]["message"] == "Questions?"


def test_global_privacy_control_means_no_cookie_but_still_a_page(rules: Path) -> None:
    with make_client(rules) as client:
        response = client.get("/", headers={"Sec-GPC": "1"})
    assert "set-cookie" not in response.headers
    assert decision(response)["greeting"] == "Hello"  # type: ignore[index]


def test_a_failing_signal_provider_serves_the_page(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import smalldata.delivery.page as page_module

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("provider exploded")

    monkeypatch.setattr(page_module, "RequestSignals", explode)
    with make_client(rules) as client:
        response = client.get("/")
    assert response.text == "<html><body><h1>Shop</h1></body></html>"
    assert "cache-control" not in response.headers


def test_a_rule_that_raises_serves_the_page(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from smalldata.rules import Engine

    def explode(self: Engine, *args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a rule divided by zero")

    monkeypatch.setattr(Engine, "decide", explode)
    with make_client(rules) as client:
        response = client.get("/")
    assert response.status_code == 200
    assert response.text == "<html><body><h1>Shop</h1></body></html>"


def test_a_provider_that_raises_leaves_its_signals_unknown_and_the_page_personalised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smalldata.signals.device import DeviceType

    def broken_device(*args: Any) -> Any:
        raise ValueError("User-Agent parser crashed")

    monkeypatch.setattr(DeviceType, "__call__", broken_device)
    (tmp_path / "rules.yaml").write_text(
        "rules:\n"
        "  - id: mobile\n    priority: 5\n    when: {device.type: mobile}\n    then: {greeting: Mobile}\n"
        "  - id: everyone\n    when: {page.path: /}\n    then: {greeting: Hello}\n"
    )
    with make_client(tmp_path) as client:
        response = client.get("/", headers={"user-agent": "Mozilla/5.0 (iPhone)"})
    assert decision(response)["greeting"] == "Hello"  # type: ignore[index]


async def signed_in_customer(request: Request) -> dict[str, Any]:
    return {"id": "c-42", "first_name": "Ada"}


def test_an_async_user_callable_is_awaited_before_the_rules_decide(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - id: hi\n    when: {user.logged_in: true}\n    then: {greeting: 'Hi {user.first_name}'}\n",
        encoding="utf-8",
    )
    settings = SETTINGS.model_copy(update={"user": UserSettings(callable=f"{__name__}:signed_in_customer")})
    app = Starlette(routes=[Route("/{path:path}", page)])
    app.add_middleware(SmallData, rules=tmp_path, settings=settings,
        overrides=Overrides(clock=lambda: WEDNESDAY_10, events=NullSink()))
    with TestClient(app) as client:
        assert (decision(client.get("/")) or {}).get("greeting") == "Hi Ada"


USER_LOOKUPS: list[str] = []


def counted_customer(request: Request) -> dict[str, Any]:
    USER_LOOKUPS.append(request.url.path)
    return {"id": "c-7", "first_name": "Bo"}


def test_rules_that_never_read_user_never_look_the_user_up(rules: Path) -> None:
    # the app's user callable may be a database query: with the cookie store only a user.* rule pays for it
    settings = SETTINGS.model_copy(update={"user": UserSettings(callable=f"{__name__}:counted_customer")})
    USER_LOOKUPS.clear()
    with make_client(rules, settings=settings) as client:
        assert decision(client.get("/"))["greeting"] == "Hello"  # type: ignore[index]
    assert USER_LOOKUPS == []

    (rules / "rules.yaml").write_text(
        "rules:\n  - id: hi\n    when: {user.logged_in: true}\n    then: {greeting: 'Hi {user.first_name}'}\n"
    )
    with make_client(rules, settings=settings) as client:
        assert decision(client.get("/"))["greeting"] == "Hi Bo"  # type: ignore[index]
    assert USER_LOOKUPS == ["/"]


def test_a_server_store_still_follows_a_logged_in_user_when_no_rule_reads_user(tmp_path: Path) -> None:
    # the rule reads only history: the store alone needs the user id, to share it across devices
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - id: again\n    when: {history.viewed_products: {contains: p1}}\n"
        "    then: {greeting: 'Back for p1?'}\n"
    )
    settings = SETTINGS.model_copy(update={
        "user": UserSettings(callable=f"{__name__}:counted_customer"),
        "page": PageSettings(product="/products/{product}"),
    })  # fmt: skip
    store = MemoryStore(StateSettings(secret_keys=(SecretStr("test-secret-key-0123456789"),)))
    app = Starlette(routes=[Route("/{path:path}", page)])
    app.add_middleware(SmallData, rules=tmp_path, settings=settings,
        overrides=Overrides(clock=lambda: WEDNESDAY_10, store=store, events=NullSink()))  # fmt: skip
    phone, laptop = TestClient(app), TestClient(app)  # two browsers, two cookie jars

    phone.get("/products/p1")

    assert (decision(laptop.get("/")) or {}).get("greeting") == "Back for p1?"


def test_a_deleted_rule_file_keeps_the_last_good_rules_and_health_says_so(
    rules: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with make_client(rules) as client:
        with caplog.at_level(logging.ERROR, logger="smalldata"):
            reload_after(client, (rules / "rules.yaml").unlink)
        assert decision(client.get("/"))["greeting"] == "Hello"  # type: ignore[index]
        health = client.get("/_smalldata/health").json()
    assert health["status"] == "degraded"
    assert "no rule files" in health["errors"][0]
    assert "no rule files" in caplog.text


def test_rule_files_without_rules_serve_nothing_and_health_is_degraded(
    rules: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with make_client(rules) as client:
        with caplog.at_level(logging.WARNING, logger="smalldata"):
            reload_after(client, lambda: (rules / "rules.yaml").write_text("rules: []\n", encoding="utf-8"))
        assert decision(client.get("/")) is None
        health = client.get("/_smalldata/health").json()
    assert (health["status"], health["rules"], health["errors"]) == ("degraded", 0, [])
    assert any("no rules" in warning for warning in health["warnings"])
    assert "holds no rules" in caplog.text


def test_a_slow_reload_keeps_no_request_waiting(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    import smalldata.delivery.live_rules as live_module

    release = threading.Event()
    real_load = live_module.load_ruleset

    def slow_load(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)  # a reload of thousands of rules, held until the requests are served
        return real_load(*args, **kwargs)

    with make_client(rules) as client:
        live = live_rules(client)
        handled = live.changes_handled
        monkeypatch.setattr(live_module, "load_ruleset", slow_load)
        write_rules(rules, greeting="Hello again")
        started = time.monotonic()
        greetings = [decision(client.get("/"))["greeting"] for _ in range(3)]  # type: ignore[index]
        waited = time.monotonic() - started
        release.set()
        client.portal.call(live.changed_since, handled)  # type: ignore[union-attr]
        assert decision(client.get("/"))["greeting"] == "Hello again"  # type: ignore[index]
    assert greetings == ["Hello"] * 3
    assert waited < 5
