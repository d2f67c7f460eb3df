"""Fail-open: smalldata's own errors never break a page; the app's errors are the app's."""

from __future__ import annotations

import logging

import pytest
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from smalldata.delivery.visit import Visit

from .helpers import FakePersonaliser, call, greeting_decision, raw_app

PAGE = b"<html><body>hi</body></html>"
HEADERS = [
    ("content-type", "text/html"),
    ("content-length", str(len(PAGE))),
    ("cache-control", "public"),
]


async def test_failing_personaliser_serves_the_page_unchanged_and_logs_the_path(
    wrap, fake: FakePersonaliser, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail = True
    with caplog.at_level(logging.ERROR, logger="smalldata"):
        result = await call(wrap(raw_app([PAGE], headers=HEADERS)), "/pricing")
    assert result.body == PAGE
    assert result.header("cache-control") == "public"
    assert "/pricing" in caplog.text


async def test_failing_state_recording_keeps_the_page(wrap, fake: FakePersonaliser) -> None:
    async def explode(page: bool) -> tuple[list[str], None]:
        raise OSError("redis is down")

    async def begin(scope: Scope, *, path: str | None = None) -> Visit:
        return Visit(greeting_decision(), (), explode)

    fake.begin = begin  # type: ignore[method-assign]
    result = await call(wrap(raw_app([PAGE], headers=HEADERS)))
    assert result.status == 200
    assert result.header("set-cookie") is None
    assert int(result.header("content-length") or 0) == len(result.body)


async def test_failing_payload_keeps_the_page(wrap, monkeypatch: pytest.MonkeyPatch) -> None:
    import smalldata.middleware as middleware

    def explode(headers: Headers) -> str:
        raise ValueError("bad header")

    monkeypatch.setattr(middleware, "csp_nonce", explode)
    result = await call(wrap(raw_app([PAGE], headers=HEADERS)))
    assert result.body == PAGE


async def test_the_apps_own_exception_propagates_unchanged(wrap) -> None:
    class ShopError(Exception):
        pass

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ShopError("out of stock")

    with pytest.raises(ShopError, match="out of stock"):
        await call(wrap(app))


async def test_the_apps_exception_after_headers_propagates(wrap) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html")],
            }
        )
        await send({"type": "http.response.body", "body": b"<body>", "more_body": True})
        raise RuntimeError("template failed half way")

    with pytest.raises(RuntimeError, match="half way"):
        await call(wrap(app))


async def test_websocket_and_lifespan_scopes_pass_through(wrap) -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    middleware = wrap(app)
    await middleware({"type": "websocket", "path": "/_smalldata/health"}, None, None)
    await middleware({"type": "lifespan"}, None, None)
    assert seen == ["websocket", "lifespan"]


async def test_lifespan_startup_opens_and_shutdown_closes_the_shops_connections(wrap, fake: FakePersonaliser) -> None:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while messages:
            await receive()

    async def receive() -> dict[str, str]:
        return messages.pop(0)

    middleware = wrap(app)
    await middleware({"type": "lifespan"}, receive, None)
    assert (fake.started, fake.closed) == (1, 1)
