"""Header names in any case: Django and others send ``Content-Type``, not ``content-type``."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from smalldata.delivery.endpoints import CLIENT_VERSION
from smalldata.delivery.headers import ResponseHeaders
from smalldata.foundation.asgi import raw_headers

from .helpers import call

PAGE = b"<html><body><h1>Shop</h1></body></html>"


def app_sending(headers: list[tuple[bytes, bytes]], body: bytes = PAGE) -> ASGIApp:
    """A raw ASGI app that sends ``headers`` exactly as given (names in the case written)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})

    return app


def django_style(case: str) -> list[tuple[bytes, bytes]]:
    names = [b"Content-Type", b"Content-Length", b"Cache-Control", b"CDN-Cache-Control", b"X-Frame-Options"]
    values = [b"text/html; charset=utf-8", b"%d" % len(PAGE), b"public, max-age=600", b"max-age=3600", b"DENY"]
    if case == "lower":
        names = [name.lower() for name in names]
    return list(zip(names, values, strict=True))


@pytest.mark.parametrize("case", ["as written", "lower"])
async def test_a_page_with_header_names_in_any_case_is_personalised(wrap, case: str) -> None:
    result = await call(wrap(app_sending(django_style(case))))
    assert b'id="smalldata"' in result.body
    assert result.header("set-cookie") == "sd=visitor-1; Path=/; HttpOnly; SameSite=Lax"
    assert result.header("cache-control") == "private, max-age=600"
    assert result.header("cdn-cache-control") is None
    assert result.header("content-length") == str(len(result.body))
    sent = [name for name, _ in django_style(case) if name.lower() != b"cdn-cache-control"]
    assert [name for name, _ in result.start["headers"]][:4] == sent  # as the app wrote them, in its order


def test_an_edited_header_keeps_the_apps_spelling_and_loses_its_repeats() -> None:
    message = {"headers": [(b"Cache-Control", b"public"), (b"X-A", b"1"), (b"cache-control", b"max-age=9")]}
    headers = ResponseHeaders(message)
    headers["cache-control"] = "private"
    assert message["headers"] == [(b"Cache-Control", b"private"), (b"X-A", b"1")]
    del headers["x-a"]
    assert message["headers"] == [(b"Cache-Control", b"private")]


async def test_a_mixed_case_vary_is_extended_not_repeated(wrap, fake) -> None:
    fake.vary = ("User-Agent",)
    headers = [(b"Content-Type", b"text/html"), (b"Vary", b"Accept-Encoding")]
    result = await call(wrap(app_sending(headers)))
    assert result.headers("vary") == ["Accept-Encoding, Cookie, User-Agent"]


def test_request_header_names_in_any_case_are_read() -> None:
    found = raw_headers([(b"Cookie", b"sd=1"), (b"user-agent", b"Firefox")])
    assert found == {b"cookie": b"sd=1", b"user-agent": b"Firefox"}


async def test_our_endpoints_read_request_header_names_in_any_case(wrap) -> None:
    app = wrap(app_sending([]))
    result = await call(app, "/_smalldata/client.js", headers=[(b"If-None-Match", f'"{CLIENT_VERSION}"'.encode())])
    assert result.status == 304
