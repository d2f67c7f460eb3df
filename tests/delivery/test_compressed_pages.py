"""A page the app compressed itself (compression inside smalldata) is still personalised, and still compressed."""

from __future__ import annotations

import gzip
import zlib

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from smalldata.delivery.compressed import MAX_PAGE
from smalldata.middleware import SmallData

from .helpers import FakePersonaliser, call

PAGE = b"<html><body><h1>Shop</h1>" + b"<p>Warm wool socks</p>" * 200 + b"</body></html>"
COOKIE = "sd=visitor-1; Path=/; HttpOnly; SameSite=Lax"


def encoded_app(body: bytes, encoding: str, chunks: int = 1, etag: bytes | None = None) -> ASGIApp:
    """A raw app sending ``body`` already encoded, as a compression middleware inside smalldata would."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"Content-Type", b"text/html; charset=utf-8"), (b"Content-Encoding", encoding.encode()),
                   (b"Cache-Control", b"public, max-age=60")]  # fmt: skip
        if chunks == 1:
            headers.append((b"Content-Length", b"%d" % len(body)))
        if etag is not None:
            headers.append((b"ETag", etag))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        size = -(-len(body) // chunks)
        for i in range(chunks):
            part = body[i * size : (i + 1) * size]
            await send({"type": "http.response.body", "body": part, "more_body": i < chunks - 1})

    return app


@pytest.mark.parametrize("chunks", [1, 3], ids=["whole", "streamed"])
async def test_a_gzipped_page_is_personalised_and_goes_out_gzipped(wrap, chunks: int) -> None:
    result = await call(wrap(encoded_app(gzip.compress(PAGE), "gzip", chunks, etag=b'"v1"')))
    page = gzip.decompress(result.body)
    assert page.endswith(b"</script></body></html>")
    assert b'id="smalldata"' in page
    assert result.header("content-encoding") == "gzip"
    assert result.header("set-cookie") == COOKIE
    assert result.header("cache-control") == "private, max-age=60"
    assert result.header("etag") == 'W/"v1"'
    assert "Accept-Encoding" in (result.header("vary") or "")
    if chunks == 1:
        assert result.header("content-length") == str(len(result.body))


async def test_a_deflated_page_is_personalised_and_goes_out_deflated(wrap) -> None:
    result = await call(wrap(encoded_app(zlib.compress(PAGE), "deflate")))
    assert b'id="smalldata"' in zlib.decompress(result.body)
    assert result.header("content-encoding") == "deflate"


@pytest.mark.parametrize(
    "encoding, body",
    [
        ("br", b"\x1b\x03\x00\xf8brotli bytes we cannot read"),
        ("zstd", b"\x28\xb5\x2f\xfdzstd bytes"),
        ("gzip", b"\x1f\x8b not really gzip"),
        ("gzip", gzip.compress(b"<html><body>" + b" " * (MAX_PAGE + 10) + b"</body></html>")),
    ],
    ids=["brotli", "zstd", "broken gzip", "gzip over the bound"],
)
async def test_a_compressed_page_we_cannot_rewrite_goes_out_unchanged_but_private_with_its_cookie(
    wrap, encoding: str, body: bytes
) -> None:
    result = await call(wrap(encoded_app(body, encoding)))
    assert result.body == body
    assert result.header("content-length") == str(len(body))
    assert result.header("set-cookie") == COOKIE
    assert result.header("cache-control") == "private, max-age=60"


def test_starlettes_gzip_inside_smalldata_keeps_the_page_personalised(fake: FakePersonaliser) -> None:
    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def streamed(request: Request) -> Response:
        return StreamingResponse(iter([PAGE[:500], PAGE[500:]]), media_type="text/html")

    middleware = [Middleware(SmallData.from_parts, parts=fake.parts()), Middleware(GZipMiddleware)]  # GZip inside
    app = Starlette(routes=[Route("/", page), Route("/streamed", streamed)], middleware=middleware)
    with TestClient(app) as client:
        for path in ("/", "/streamed"):
            response = client.get(path, headers={"accept-encoding": "gzip, br"})
            assert response.headers["content-encoding"] == "gzip"
            assert 'id="smalldata"' in response.text
            assert response.headers["set-cookie"].startswith("sd=visitor-1")
            assert response.headers["cache-control"] == "private"
