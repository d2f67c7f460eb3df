"""The shop the fault suite serves: ``uvicorn --workers 2 --factory tests.faults.app:create_app``.

uvicorn builds it in fresh worker processes, so it is configured by environment
variables: ``FAULTS_CONFIG`` names the settings file (whose ``rules:`` names the
rules folder). Every response of the app can be worked out from its path alone
(:func:`expected`), so the suite catches any response that arrives altered beyond
the payload smalldata injects. Each response names the worker that served it
(``X-Worker``), so the suite can tell both workers were reached.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from smalldata import SmallData

USER_HEADER = b"x-user"
STREAM_CHUNKS = 4
BIG_REPEAT = 2_000  # a page of about 150 KB


@dataclass(frozen=True)
class Expected:
    """What the app itself answers for a path: status, media type, the ``X-App`` marker and the body."""

    status: int
    media_type: str
    marker: str
    body: bytes


def marker(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()[:16]


def _page(path: str, filler: str = "") -> bytes:
    return (
        f'<!doctype html><html lang="da"><head><meta charset="utf-8"><title>{path}</title></head>'
        f'<body><h1 data-smalldata-slot="greeting"></h1><p>Søren ser {path} · {marker(path)}</p>{filler}'
        "</body></html>"
    ).encode()


def expected(path: str, body: bytes = b"") -> Expected:
    """The app's own response to ``path`` (``body``: what was POSTed to ``/echo``)."""
    mark = marker(path)
    if path.startswith("/api/"):
        return Expected(200, "application/json", mark, f'{{"path":"{path}","marker":"{mark}"}}'.encode())
    if path.startswith("/missing/"):
        return Expected(404, "text/html", mark, _page(path, "<p>not found</p>"))
    if path == "/echo":
        digest = hashlib.sha256(body).hexdigest()
        return Expected(200, "application/json", mark, f'{{"sha256":"{digest}","length":{len(body)}}}'.encode())
    if path.startswith("/big/"):
        return Expected(200, "text/html", mark, _page(path, "<p>row of the catalogue</p>" * BIG_REPEAT))
    return Expected(200, "text/html", mark, _page(path))


def current_user(request: Request) -> str | None:
    """``user.callable``: the customer id the suite sends in ``X-User`` (None: nobody logged in)."""
    for name, value in request.scope["headers"]:
        if name == USER_HEADER:
            return str(value.decode("latin-1"))
    return None


def _headers(path: str) -> dict[str, str]:
    return {"x-app": marker(path), "x-worker": str(os.getpid()), "cache-control": "public, max-age=60"}


async def _html(request: Request) -> Response:
    path = request.url.path
    found = expected(path)
    return Response(found.body, found.status, _headers(path), media_type="text/html; charset=utf-8")


async def _json(request: Request) -> Response:
    path = request.url.path
    return Response(expected(path).body, 200, _headers(path), media_type="application/json")


async def _stream(request: Request) -> StreamingResponse:
    path = request.url.path
    body = expected(path).body
    size = -(-len(body) // STREAM_CHUNKS)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            await asyncio.sleep(0)  # other requests run between the chunks
            yield body[start : start + size]

    return StreamingResponse(chunks(), 200, _headers(path), media_type="text/html; charset=utf-8")


async def _echo(request: Request) -> Response:
    found = expected("/echo", await request.body())
    return Response(found.body, 200, _headers("/echo"), media_type="application/json")


async def _slow(request: Request) -> Response:
    await asyncio.sleep(0.02)  # a database query: other requests of the visitor run meanwhile
    return await _html(request)


def create_app() -> Starlette:
    """The shop, wrapped in ``SmallData`` with the settings ``$FAULTS_CONFIG`` names."""
    routes = [
        Route("/", _html),
        Route("/pages/{n}", _html),
        Route("/pricing", _slow),
        Route("/pricing/{n}", _slow),
        Route("/big/{n}", _html),
        Route("/stream/{n}", _stream),
        Route("/missing/{n}", _html),
        Route("/api/{n}", _json),
        Route("/echo", _echo, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SmallData, config=os.environ["FAULTS_CONFIG"])])


__all__ = ["Expected", "create_app", "current_user", "expected", "marker"]
