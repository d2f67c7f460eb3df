"""Personalised responses: private caching, Vary, weak ETags and cookies."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from smalldata.middleware import SmallData

from .helpers import FakePersonaliser, call, raw_app

PAGE = b"<html><body><h1>Shop</h1></body></html>"


@pytest.mark.parametrize(
    ("app_sets", "expected"),
    [
        (None, "private"),
        ("public, max-age=600", "private, max-age=600"),
        ("public, s-maxage=3600, max-age=60", "private, max-age=60"),
        ("no-store", "private, no-store"),
        ("private, no-cache", "private, no-cache"),
        ("max-age=0, must-revalidate", "private, max-age=0, must-revalidate"),
    ],
)
async def test_personalised_page_is_private_keeping_stricter_directives(wrap, app_sets, expected) -> None:
    headers = [("content-type", "text/html")] + ([("cache-control", app_sets)] if app_sets else [])
    result = await call(wrap(raw_app([PAGE], headers=headers)))
    assert result.header("cache-control") == expected


@pytest.mark.parametrize(
    ("app_sets", "expected"),
    [
        ([], "Cookie, User-Agent"),
        (["Accept-Encoding"], "Accept-Encoding, Cookie, User-Agent"),
        (["accept-encoding, cookie", "User-Agent"], "accept-encoding, cookie, User-Agent"),
        (["*"], "*"),
    ],
)
async def test_vary_names_cookie_and_the_headers_signals_used_once_each(
    wrap, fake: FakePersonaliser, app_sets, expected
) -> None:
    fake.vary = ("User-Agent", "cookie")
    headers = [("content-type", "text/html")] + [("vary", v) for v in app_sets]
    result = await call(wrap(raw_app([PAGE], headers=headers)))
    assert result.headers("vary") == [expected]


async def test_strong_etag_becomes_weak_when_the_body_changed(wrap) -> None:
    result = await call(wrap(raw_app([PAGE], headers=[("content-type", "text/html"), ("etag", '"v1"')])))
    assert result.header("etag") == 'W/"v1"'


async def test_weak_etag_stays_as_it_was(wrap) -> None:
    result = await call(wrap(raw_app([PAGE], headers=[("content-type", "text/html"), ("etag", 'W/"v1"')])))
    assert result.header("etag") == 'W/"v1"'


async def test_visitor_cookie_is_added_next_to_the_apps_own_cookies(wrap) -> None:
    headers = [
        ("content-type", "text/html"),
        ("set-cookie", "session=abc"),
        ("set-cookie", "lang=da"),
    ]
    result = await call(wrap(raw_app([PAGE], headers=headers)))
    assert result.headers("set-cookie") == [
        "session=abc",
        "lang=da",
        "sd=visitor-1; Path=/; HttpOnly; SameSite=Lax",
    ]


async def test_json_response_gets_no_cookie_and_no_page_view(wrap, fake: FakePersonaliser) -> None:
    headers = [("content-type", "application/json"), ("cache-control", "public, max-age=60")]
    result = await call(wrap(raw_app([b"{}"], headers=headers)))
    assert result.header("set-cookie") is None
    assert result.header("cache-control") == "public, max-age=60"
    assert fake.paths == []  # nobody asked: not even decided


async def test_decision_is_available_to_handlers_as_request_state(fake: FakePersonaliser) -> None:
    async def page(request: Request) -> Response:
        decision = await request.state.smalldata
        return HTMLResponse(f"<body>{decision.greeting}</body>")

    app = Starlette(routes=[Route("/", page)], middleware=[Middleware(SmallData.from_parts, parts=fake.parts())])
    with TestClient(app) as client:
        assert client.get("/").text.startswith("<body>Welcome back!<script")


def test_inside_gzip_the_page_is_injected_then_compressed(fake: FakePersonaliser) -> None:
    async def page(request: Request) -> Response:
        return HTMLResponse("<html><body>" + "x" * 2000 + "</body></html>")

    app = Starlette(routes=[Route("/", page)])
    app.add_middleware(SmallData.from_parts, parts=fake.parts())
    app.add_middleware(GZipMiddleware)  # added last = outermost
    with TestClient(app) as client:
        response = client.get("/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert 'id="smalldata"' in response.text
    assert response.headers["cache-control"] == "private"


def test_paths_under_static_are_not_personalised(fake: FakePersonaliser) -> None:
    async def asset(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[Route("/static/app.css", asset)],
        middleware=[Middleware(SmallData.from_parts, parts=fake.parts())],
    )
    with TestClient(app) as client:
        client.get("/static/app.css")
    assert fake.paths == []


EDITS = [
    pytest.param([("set", "Vary", "Cookie")], id="set a new header"),
    pytest.param([("set", "Cache-Control", "private")], id="set replaces the first and drops the rest"),
    pytest.param([("del", "Cache-Control", "")], id="delete every value"),
    pytest.param([("append", "Set-Cookie", "sd=1"), ("set", "Set-Cookie", "sd=2")], id="append then set"),
    pytest.param([("del", "ETag", ""), ("set", "etag", '"v2"')], id="delete then set again"),
    pytest.param([("set", "X-A", "2"), ("append", "X-A", "3"), ("set", "x-a", "4")], id="set among repeated names"),
]


@pytest.mark.parametrize("edits", EDITS)
def test_response_headers_edit_the_raw_list_as_starlette_does(edits: list[tuple[str, str, str]]) -> None:
    from starlette.datastructures import MutableHeaders

    from smalldata.delivery.headers import ResponseHeaders

    raw = [(b"content-type", b"text/html"), (b"cache-control", b"public"), (b"x-a", b"1"), (b"cache-control", b"x")]
    theirs, ours = {"headers": list(raw)}, {"headers": list(raw)}
    starlette_headers, our_headers = MutableHeaders(scope=theirs), ResponseHeaders(ours)
    for action, name, value in edits:
        for headers in (starlette_headers, our_headers):
            if action == "set":
                headers[name] = value
            elif action == "del":
                del headers[name]
            else:
                headers.append(name, value)
        assert ours["headers"] == theirs["headers"]
        for key in ("cache-control", "set-cookie", "etag", "vary", "content-type"):
            assert our_headers.get(key) == starlette_headers.get(key)
            assert our_headers.getlist(key) == starlette_headers.getlist(key)
            assert (key in our_headers) == (key in starlette_headers)


@pytest.mark.parametrize("name", ["CDN-Cache-Control", "Surrogate-Control", "Cloudflare-CDN-Cache-Control"])
async def test_cache_headers_for_cdns_alone_are_removed_from_a_personalised_page(wrap, name: str) -> None:
    # a CDN obeys these over Cache-Control (RFC 9213): left in, it would store one visitor's greeting
    headers = [("content-type", "text/html"), ("cache-control", "public, max-age=60"), (name.lower(), "max-age=600")]
    result = await call(wrap(raw_app([PAGE], headers=headers)))
    assert result.header("cache-control") == "private, max-age=60"
    assert result.header(name) is None
    assert b"Welcome back!" in result.body


@pytest.mark.parametrize("status", [404, 410, 500])
async def test_an_error_page_that_read_the_decision_is_private(wrap, fake: FakePersonaliser, status: int) -> None:
    headers = [("content-type", "text/html"), ("cache-control", "public, max-age=300"), ("cdn-cache-control", "60")]
    page = raw_app([PAGE], status=status, headers=headers)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await scope["state"]["smalldata"]  # the error page may show it
        await page(scope, receive, send)

    result = await call(wrap(app))
    assert result.header("cache-control") == "private, max-age=300"
    assert result.header("cdn-cache-control") is None
    assert result.header("vary") == "Cookie"
    assert result.body == PAGE  # not a page to inject into: only its caching changes


async def test_a_page_whose_visit_could_not_be_recorded_is_still_private(
    wrap, fake: FakePersonaliser, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(page: bool) -> tuple[list[str], None]:
        raise ConnectionError("redis went away")

    fake._record = broken  # type: ignore[method-assign]
    headers = [("content-type", "text/html"), ("cache-control", "public, max-age=300")]
    result = await call(wrap(raw_app([PAGE], headers=headers)))
    assert b"Welcome back!" in result.body
    assert result.header("cache-control") == "private, max-age=300"
    assert result.header("set-cookie") is None
    assert "recording the visit failed" in caplog.text
