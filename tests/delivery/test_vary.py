"""``Vary`` names ``Cookie`` once, also behind Starlette's SessionMiddleware (which appends its own),
and names a request header only when the rules read it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from smalldata.app import Overrides
from smalldata.events import NullSink
from smalldata.middleware import SmallData
from smalldata.settings import Settings
from smalldata.signals.config import UserSettings
from smalldata.state import StateSettings

SETTINGS = Settings(
    user=UserSettings(session_key="user"), state=StateSettings(secret_keys=(SecretStr("vary-test-secret-key"),))
)
READS_SESSION = "rules:\n  - id: hi\n    when: {user.logged_in: false}\n    then: {greeting: {en: Hi, da: Hej}}\n"
READS_NO_SESSION = "rules:\n  - id: hi\n    then: {greeting: {en: Hi, da: Hej}}\n"


async def page(request: Request) -> Response:
    return HTMLResponse("<html><body>" + "<p>Shop</p>" * 200 + "</body></html>")


async def session_page(request: Request) -> Response:
    request.session["seen"] = True
    return await page(request)


def vary(rules: str, tmp_path: Path, *, sessions: bool, gzip: bool, path: str = "/") -> list[str]:
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    middleware = [Middleware(GZipMiddleware)] if gzip else []
    if sessions:
        middleware.append(Middleware(SessionMiddleware, secret_key="session-secret"))
    middleware.append(Middleware(SmallData, rules=tmp_path, settings=SETTINGS, overrides=Overrides(events=NullSink())))
    app = Starlette(routes=[Route("/app-session", session_page), Route("/", page)], middleware=middleware)
    with TestClient(app) as client:
        response = client.get(path, headers={"accept-encoding": "gzip"})
    return [name.strip().lower() for name in response.headers["vary"].split(",")]


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(
    ("rules", "sessions", "path"),
    [
        pytest.param(READS_SESSION, True, "/", id="rules read the session"),
        pytest.param(READS_NO_SESSION, True, "/", id="nobody reads the session"),
        pytest.param(READS_NO_SESSION, True, "/app-session", id="the app writes the session"),
        pytest.param(READS_NO_SESSION, False, "/", id="no session middleware"),
    ],
)
def test_vary_names_cookie_once(tmp_path: Path, rules: str, sessions: bool, path: str, gzip: bool) -> None:
    names = vary(rules, tmp_path, sessions=sessions, gzip=gzip, path=path)
    assert names.count("cookie") == 1, names
    assert "accept-language" in names  # the greeting comes in two languages
    assert ("accept-encoding" in names) is gzip


@pytest.mark.parametrize(
    ("rules", "headers"),
    [
        pytest.param("then: {greeting: Hi}", [], id="one language, nothing read"),
        pytest.param("then: {greeting: {en: Hi, da: Hej}}", ["accept-language"], id="two languages"),
        pytest.param("when: {device.type: mobile}\n    then: {greeting: Hi}", ["user-agent", "sec-ch-ua-mobile"],
                     id="device type"),
        pytest.param("when: {device.browser: Firefox}\n    then: {greeting: Hi}", ["user-agent"], id="browser"),
        # Sec-GPC: 1 refuses storage, so a page decided from the visitor's state differs with it
        pytest.param("when: {visitor.returning: true}\n    then: {greeting: Hi}", ["sec-gpc"], id="returning"),
        pytest.param("then: {greeting: Hi}\n    cap: {max: 1, per: day}", ["sec-gpc"], id="capped"),
        pytest.param("experiment: {key: e, variants: [{name: a, weight: 50, then: {greeting: A}}, "
                     "{name: b, weight: 50, then: {greeting: B}}]}", ["sec-gpc"], id="experiment"),
    ],
)
def test_vary_names_only_the_request_headers_the_rules_read(tmp_path: Path, rules: str, headers: list[str]) -> None:
    # a shared cache keeps one copy per value of every header named: naming one no rule reads splits it for nothing
    names = vary(f"rules:\n  - id: hi\n    {rules}\n", tmp_path, sessions=False, gzip=False)
    assert names == ["cookie", *headers]
