"""Hostile request data is never a traceback: at most a counted, rate-limited one-line warning.

Every place request data meets ``encode``, ``int``, ``float`` or ``json``: preview tokens,
cookies, the query string, headers, the events endpoint's bodies and the decide path. Each
input goes through the whole middleware (a shop with rules reading most signals) and must
be answered without a 5xx and without an error logged with its traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from smalldata.middleware import SmallData
from smalldata.settings import Settings

RULES = """
rules:
  - id: greet
    when: {visitor.returning: false}
    then: {greeting: "Hej"}
  - id: search
    when: {page.query: {exists: true}, history.searches: {exists: true}, page.url: {exists: true}}
    then: {banner: {slot: hero, text: "You searched {page.url}"}}
  - id: campaign
    when: {campaign.source: {exists: true}}
    then: {banner: {slot: side, text: "From {campaign.source}"}}
  - id: languages
    when: {page.language: {exists: true}, device.os: {exists: true}, page.referrer: {exists: true}}
    then: {tag: speaks}
  - id: bots
    when: {device.is_bot: false}
    then: {tag: human}
  - id: capped
    when: {page.path: {starts_with: /}}
    cap: {max: 3, per: day}
    then: {chat: {message: "Hi", after_seconds: 5}}
"""

KEY = "hostile-input-key-0123456789"

QUERIES = [
    b"sd_preview=v1.x\xc3\xa9.y",  # the reported one: a non-ASCII token
    b"sd_preview=v1.%C3%A9%C3%A9.%FF",
    b"sd_preview=v1.eyJlIjoxZTk5OTl9.sig",
    b"sd_preview=" + b"v1." * 2000,
    b"q=%ED%A0%80",  # a lone surrogate, percent-encoded
    b"q=%FF%FE%00",
    b"utm_source=%F0%9F%98%80&utm_medium=\xff\xfe",
    b"q=" + b"%41" * 10_000,
    b"q=1e99999&page=-0&n=NaN",
    b"%%%=&&&==&q",
]
HEADERS: list[dict[str, bytes]] = [
    {"cookie": b"sd_visitor=v1.\xff\xfe.\x00"},
    {"cookie": b"sd_visitor=" + b"A" * 20_000},
    {"cookie": b"sd_visitor=v1.eyJpIjoiYWJjZGVmZ2hpamtsIiwiZiI6MWU5OTk5fQ.x; sd_consent=%FF%FE"},
    {"cookie": b"sd_visitor=\xc3\xa9\xc3\xa9; sd_visitor=\xed\xa0\x80"},
    {"user-agent": b"Mozilla/5.0 \xff\xfe\xc3(KHTML) \xed\xa0\x80" * 50},
    {"accept-language": b"\xff\xfe;q=NaN, da;q=1e999, en;q=-1, *;q=inf"},
    {"x-forwarded-for": b"\xff\xfe, 999.999.999.999, ::ffff:\xc3\xa9, 1" * 20},
    {"sec-gpc": b"\xff", "dnt": b"\xc3\xa9"},
    {"referer": b"http://\xff\xfe/%ZZ?utm_source=\xc3\xa9"},
    {"host": b"\xff\xfe:99999999999999999999"},
    {"sec-ch-ua-mobile": b"?\xff"},
]
EVENTS = [
    b'{"type": "chat_shown", "rule": "capped", "path": "\xff\xfe"}',
    b'{"type": "conversion", "value": 1e99999}',
    b'{"type": "conversion", "value": NaN}',
    b'{"type": "conversion", "value": ' + b"9" * 5000 + b"}",
    b'{"type": "chat_dismissed", "rule": "capped", "path": "\\ud800"}',
    b"\xef\xbb\xbf\xff\xfe{}",
    b'{"type": "chat_shown", "rule": "' + "é".encode() * 100 + b'"}',
]
DECIDE = [b"path=/%FF%FE", b"path=/\xc3\xa9?q=%ED%A0%80", b"path=/%00", b"path=" + b"/" * 3000,
          b"path=/?sd_preview=v1.\xc3\xa9.y"]


async def _page(request: Request) -> Response:
    return HTMLResponse("<html><body><h1>Shop</h1></body></html>")


@pytest.fixture
def client(tmp_path: Path) -> Any:
    (tmp_path / "rules.yaml").write_text(RULES)
    settings = Settings.model_validate({"rules": str(tmp_path), "state": {"secret_keys": [KEY]},
                                        "preview": {"secret_keys": [KEY]}, "trusted_proxies": ["127.0.0.1"],
                                        "events": {"browser_conversions": True}})  # fmt: skip
    app = Starlette(routes=[Route("/{path:path}", _page, methods=["GET", "POST"])])
    with TestClient(SmallData(app, settings=settings), raise_server_exceptions=False) as client:
        yield client


def _raw(client: TestClient, method: str, path: str, query: bytes = b"", headers: dict[str, bytes] | None = None,
         body: bytes = b"") -> int:
    """Send a request with raw bytes where a client library would refuse them: status code."""
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode("utf-8", "surrogateescape"), "query_string": query, "root_path": "",
        "headers": [(b"host", b"shop.test"), *((name.encode(), value) for name, value in (headers or {}).items())],
        "client": ("127.0.0.1", 5000), "server": ("shop.test", 80),
    }  # fmt: skip
    status = [0]
    sent = [False]

    async def receive() -> dict[str, Any]:
        if sent[0]:
            return {"type": "http.disconnect"}
        sent[0] = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]

    app = client.app

    async def run() -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            status[0] = 599  # escaped the middleware

    client.portal.call(run)  # in the client's event loop, where the app's lifespan started
    return status[0]


def _clean(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.levelname} {r.getMessage()}" for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_a_hostile_query_string_is_never_a_traceback(client: Any, caplog: pytest.LogCaptureFixture,
                                                     query: bytes) -> None:
    status = _raw(client, "GET", "/products/1", query)
    assert status == 200 and _clean(caplog) == []


@pytest.mark.parametrize("headers", HEADERS, ids=range(len(HEADERS)))
def test_hostile_headers_and_cookies_are_never_a_traceback(client: Any, caplog: pytest.LogCaptureFixture,
                                                            headers: dict[str, bytes]) -> None:
    status = _raw(client, "GET", "/", b"", headers)
    assert status == 200 and _clean(caplog) == []


@pytest.mark.parametrize("body", EVENTS, ids=range(len(EVENTS)))
def test_a_hostile_event_body_is_never_a_traceback(client: Any, caplog: pytest.LogCaptureFixture,
                                                   body: bytes) -> None:
    status = _raw(client, "POST", "/_smalldata/events", b"", {"content-type": b"application/json"}, body)
    assert status < 500 and _clean(caplog) == []


@pytest.mark.parametrize("length", [b"\xb2", b"9" * 5000, b"-1", b"\xef\xbc\x91"], ids=range(4))
def test_a_hostile_content_length_is_never_a_traceback(client: Any, caplog: pytest.LogCaptureFixture,
                                                       length: bytes) -> None:
    headers = {"content-type": b"application/json", "content-length": length}
    status = _raw(client, "POST", "/_smalldata/events", b"", headers, b'{"type": "chat_shown", "rule": "r"}')
    assert status < 500 and _clean(caplog) == []


@pytest.mark.parametrize("query", DECIDE, ids=range(len(DECIDE)))
def test_a_hostile_decide_path_is_never_a_traceback(client: Any, caplog: pytest.LogCaptureFixture,
                                                    query: bytes) -> None:
    status = _raw(client, "GET", "/_smalldata/decide", query)
    assert status < 500 and _clean(caplog) == []


@pytest.mark.parametrize("path", ["/\ufffd\ufffd", "/é/../%2e%2e/", "/" + "x" * 10_000, "/%ED%A0%80", "/\udcff\udcfe"])
def test_a_hostile_path_is_never_a_traceback(client: Any, caplog: pytest.LogCaptureFixture, path: str) -> None:
    status = _raw(client, "GET", path)
    assert status < 500 and _clean(caplog) == []
