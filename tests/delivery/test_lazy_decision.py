"""Deciding lazily: when the app asks for the decision, or when a page starts — never for what is not a page."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from smalldata.app import Overrides
from smalldata.events import NullSink
from smalldata.middleware import SmallData
from smalldata.settings import Settings
from smalldata.signals.config import BasketSettings, UserSettings
from smalldata.state import CookieStore, StateSettings

from .helpers import FakePersonaliser, call, raw_app

ZONE = ZoneInfo("Europe/Copenhagen")
RULES = """
rules:
  - id: hi
    when: {user.logged_in: true}
    then: {greeting: "Hi {user.first_name}"}
  - id: basket-banner
    when: {basket.count: {gte: 1}}
    then: {banner: {slot: basket, html: "Your basket is waiting"}}
"""
CALLS: list[str] = []
PAGE = "<html><body><h1>Shop</h1></body></html>"


def counted_user(scope: Any) -> dict[str, Any]:
    CALLS.append("user")
    return {"id": "c-1", "first_name": "Ada"}


def counted_basket(scope: Any) -> list[dict[str, Any]]:
    CALLS.append("basket")
    return []


@pytest.fixture
def calls() -> Iterator[list[str]]:
    CALLS.clear()
    yield CALLS
    CALLS.clear()


def shop(tmp_path: Path, routes: list[Route], settings: Settings | None = None, **options: Any) -> TestClient:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    if settings is None:
        settings = Settings(timezone="Europe/Copenhagen", user=UserSettings(callable=f"{__name__}:counted_user"),
                            basket=BasketSettings(callable=f"{__name__}:counted_basket"))  # fmt: skip
    store = CookieStore(StateSettings(secret_keys=(SecretStr("test-secret-key-0123456789"),)))
    middleware = [*options.pop("outer", []), Middleware(
        SmallData, rules=tmp_path, settings=settings,
            overrides=Overrides(store=store, events=NullSink(),
                                clock=lambda: datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)),
    )]  # fmt: skip
    return TestClient(Starlette(routes=routes, middleware=middleware))


def payload(response: Any) -> dict[str, Any] | None:
    match = re.search(r'id="smalldata">(.*?)</script>', response.text)
    return json.loads(match.group(1))["decision"] if match else None


async def image(request: Request) -> Response:
    return Response(b"\x89PNG\r\n", media_type="image/png")


async def api(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def redirect(request: Request) -> Response:
    return RedirectResponse("/", status_code=303)


async def html_redirect(request: Request) -> Response:  # as Django sends one: text/html, a 302
    return HTMLResponse("", status_code=302, headers={"Location": "/"})


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE)


@pytest.mark.parametrize("path", ["/img.png", "/api", "/go", "/django-go"])
def test_what_is_not_a_page_calls_none_of_the_shops_code(tmp_path: Path, calls: list[str], path: str) -> None:
    routes = [Route("/img.png", image), Route("/api", api), Route("/go", redirect), Route("/django-go", html_redirect)]
    with shop(tmp_path, routes) as client:
        response = client.get(path, follow_redirects=False)
    assert calls == []
    assert "set-cookie" not in response.headers


def test_a_page_is_decided_when_it_starts(tmp_path: Path, calls: list[str]) -> None:
    with shop(tmp_path, [Route("/", page)]) as client:
        response = client.get("/")
    assert sorted(calls) == ["basket", "user"]
    assert payload(response) is not None
    assert response.headers["cache-control"] == "private"


def test_a_json_handler_that_awaits_the_decision_gets_it(tmp_path: Path, calls: list[str]) -> None:
    async def greeting(request: Request) -> Response:
        decision = await request.state.smalldata
        return JSONResponse({"greeting": decision.greeting})

    with shop(tmp_path, [Route("/api", greeting)]) as client:
        assert client.get("/api").json() == {"greeting": "Hi Ada"}
    assert sorted(calls) == ["basket", "user"]  # once, for the handler; the JSON response adds nothing


def test_a_sync_handler_reads_the_decision_in_its_thread(tmp_path: Path, calls: list[str]) -> None:
    def sync_page(request: Request) -> Response:  # Starlette runs it in a worker thread, as Django does sync views
        return HTMLResponse(f"<html><body><p>{request.state.smalldata.greeting}</p></body></html>")

    with shop(tmp_path, [Route("/", sync_page)]) as client:
        response = client.get("/")
    assert "<p>Hi Ada</p>" in response.text
    assert sorted(calls) == ["basket", "user"]  # decided once: the page reuses what the handler read


def test_a_sync_handler_reads_the_decision_on_the_loop_of_each_server_run(tmp_path: Path) -> None:
    def sync_page(request: Request) -> Response:
        return HTMLResponse(f"<html><body><p>{request.state.smalldata.greeting}</p></body></html>")

    client = shop(tmp_path, [Route("/", sync_page)])
    for _ in range(2):  # each run of the test client is a new event loop, as a restarted server's is
        with client:
            assert "<p>Hi Ada</p>" in client.get("/").text


def test_an_unawaited_read_on_the_event_loop_is_empty_and_the_page_still_personalised(
    tmp_path: Path, calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    async def careless(request: Request) -> Response:
        return HTMLResponse(f"<html><body><p>{request.state.smalldata.greeting}</p></body></html>")

    with shop(tmp_path, [Route("/", careless)]) as client:
        response = client.get("/")
    assert "<p>None</p>" in response.text
    assert payload(response) is not None
    assert "await request.state.smalldata" in caplog.text


SESSION_SETTINGS = Settings(timezone="Europe/Copenhagen", user=UserSettings(session_key="user"),
                            basket=BasketSettings(session_key="basket"))  # fmt: skip


async def login(request: Request) -> Response:
    request.session["user"] = {"id": "c-1", "first_name": "Ada"}
    request.session["basket"] = [{"sku": "mug", "price": 20}]  # the anonymous basket, merged at login
    return HTMLResponse(PAGE)


def test_a_page_decided_when_it_starts_sees_the_login_and_basket_of_its_own_request(tmp_path: Path) -> None:
    outer = [Middleware(SessionMiddleware, secret_key="s" * 32)]
    with shop(tmp_path, [Route("/login", login, methods=["POST"])], SESSION_SETTINGS, outer=outer) as client:
        decision = payload(client.post("/login"))
    assert decision is not None
    assert decision["greeting"] == "Hi Ada"
    assert decision["banners"]["basket"]["html"] == "Your basket is waiting"


def test_a_decision_the_app_read_before_the_login_stays_the_one_it_read(tmp_path: Path) -> None:
    async def login_after_reading(request: Request) -> Response:
        before = await request.state.smalldata
        await login(request)
        return HTMLResponse(f"<html><body><p>{before.greeting}</p></body></html>")

    outer = [Middleware(SessionMiddleware, secret_key="s" * 32)]
    routes = [Route("/login", login_after_reading, methods=["POST"])]
    with shop(tmp_path, routes, SESSION_SETTINGS, outer=outer) as client:
        response = client.post("/login")
    assert "<p>None</p>" in response.text
    assert (payload(response) or {}).get("greeting") is None  # the page shows what the handler read


def templates() -> Any:
    from jinja2 import DictLoader, Environment
    from starlette.templating import Jinja2Templates

    from smalldata.jinja import install

    env = Environment(loader=DictLoader({"page.html": "<html><body><p>{{ smalldata().greeting }}</p></body></html>"}),
                      autoescape=True)  # fmt: skip
    install(env)
    return Jinja2Templates(env=env)


def test_a_template_rendered_after_the_handler_awaits_the_decision_shows_it(tmp_path: Path) -> None:
    jinja = templates()

    async def page(request: Request) -> Response:
        await request.state.smalldata
        return jinja.TemplateResponse(request, "page.html")

    with shop(tmp_path, [Route("/", page)]) as client:
        assert "<p>Hi Ada</p>" in client.get("/").text


def test_a_template_rendered_in_a_sync_handler_shows_the_decision(tmp_path: Path) -> None:
    jinja = templates()

    def page(request: Request) -> Response:  # in a worker thread: the template's read waits for the decision
        return jinja.TemplateResponse(request, "page.html")  # type: ignore[no-any-return]

    with shop(tmp_path, [Route("/", page)]) as client:
        assert "<p>Hi Ada</p>" in client.get("/").text


async def test_readers_asking_at_once_share_one_decision() -> None:
    class SlowPersonaliser(FakePersonaliser):
        async def begin(self, scope: Scope, *, path: str | None = None) -> Any:
            await asyncio.sleep(0.01)  # a Redis round trip, say: the second reader arrives meanwhile
            return await super().begin(scope, path=path)

    fake = SlowPersonaliser()
    page = raw_app([b"<html><body>Shop</body></html>"])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        lazy = scope["state"]["smalldata"]
        first, second = await asyncio.gather(lazy, lazy)
        assert first is second
        await page(scope, receive, send)

    result = await call(SmallData.from_parts(app, fake.parts()))
    assert fake.paths == [None]
    assert b"Welcome back!" in result.body
