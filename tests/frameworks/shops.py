"""One small shop per framework, each answering in its own way, and a raw ASGI caller.

Every shop serves the same paths: ``/`` an HTML page (the framework's own HTML
response), ``/stream`` the page streamed in parts, ``/api`` JSON, ``/file`` an image
from disk, ``/decision`` JSON written from the decision the handler read. Each
compresses with gzip when the request accepts it, with its own compression where it
has one (Starlette's and FastAPI's ``GZipMiddleware``, Django's ``GZipMiddleware``,
Litestar's ``CompressionConfig``; Quart has none, so Starlette's wraps it), *inside*
smalldata.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request as StarletteRequest  # FastAPI's Request, importable where FastAPI looks
from starlette.types import ASGIApp, Message, Scope

PAGE = "<!doctype html><html><head><title>Shop</title></head><body><h1>Warm socks</h1>" + "<p>Wool.</p>" * 100
PAGE += "</body></html>"
PAGE_PARTS = [PAGE[:300], PAGE[300:900], PAGE[900:]]
IMAGE = Path(tempfile.mkdtemp(prefix="smalldata-frameworks-")) / "dot.png"
IMAGE.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)


def starlette_shop() -> ASGIApp:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def stream(request: Request) -> Response:
        return StreamingResponse(_parts(), media_type="text/html")

    async def api(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def file(request: Request) -> Response:
        return FileResponse(IMAGE)

    async def decision(request: Request) -> Response:
        return JSONResponse({"greeting": (await request.state.smalldata).greeting})

    routes = [Route("/", page), Route("/stream", stream), Route("/api", api), Route("/file", file),
              Route("/decision", decision)]  # fmt: skip
    return Starlette(routes=routes, middleware=[Middleware(GZipMiddleware, minimum_size=100)])


def fastapi_shop() -> ASGIApp:
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse

    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=100)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(_parts(), media_type="text/html")

    @app.get("/api")
    async def api() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/file")
    async def file() -> FileResponse:
        return FileResponse(IMAGE)

    @app.get("/decision")
    async def decision(request: StarletteRequest) -> dict[str, Any]:
        return {"greeting": (await request.state.smalldata).greeting}

    return app


def django_shop() -> ASGIApp:
    from .django_app import application

    return application()  # type: ignore[no-any-return]


def litestar_shop() -> ASGIApp:
    from litestar import Litestar, MediaType, Request, Response, get
    from litestar.config.compression import CompressionConfig
    from litestar.response import File, Stream

    @get("/", media_type=MediaType.HTML)
    async def page() -> str:
        return PAGE

    @get("/stream")
    async def stream() -> Stream:
        return Stream(_parts(), media_type=MediaType.HTML)

    @get("/api")
    async def api() -> dict[str, bool]:
        return {"ok": True}

    @get("/file")
    async def file() -> File:
        return File(IMAGE, content_disposition_type="inline")

    @get("/decision")
    async def decision(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        return Response({"greeting": (await request.state.smalldata).greeting})

    return Litestar([page, stream, api, file, decision],
                    compression_config=CompressionConfig(backend="gzip", minimum_size=100),
                    # the handlers' annotations are strings (PEP 563) naming what was imported here
                    signature_namespace={"Stream": Stream, "File": File, "Request": Request, "Response": Response,
                                         "Any": Any})  # fmt: skip


def quart_shop() -> ASGIApp:
    from quart import Quart, jsonify, request, send_file

    app = Quart(__name__)

    @app.get("/")
    async def page() -> str:
        return PAGE  # Quart's default: text/html

    @app.get("/stream")
    async def stream() -> Any:
        return app.response_class(_parts(), mimetype="text/html")

    @app.get("/api")
    async def api() -> Any:
        return jsonify(ok=True)

    @app.get("/file")
    async def file() -> Any:
        return await send_file(IMAGE, mimetype="image/png")

    @app.get("/decision")
    async def decision() -> Any:
        return jsonify(greeting=(await request.scope["state"]["smalldata"]).greeting)

    return GZipMiddleware(app, minimum_size=100)  # type: ignore[arg-type]


SHOPS: dict[str, Callable[[], ASGIApp]] = {
    "starlette": starlette_shop,
    "fastapi": fastapi_shop,
    "django": django_shop,
    "litestar": litestar_shop,
    "quart": quart_shop,
}


async def _parts() -> AsyncIterator[str]:
    for part in PAGE_PARTS:
        yield part
        await asyncio.sleep(0)


@dataclass
class Answer:
    """One response as the server got it: the start message (names as sent) and the body messages."""

    status: int
    raw_headers: list[tuple[bytes, bytes]]
    chunks: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def header(self, name: str) -> str | None:
        values = self.headers(name)
        return values[0] if values else None

    def headers(self, name: str) -> list[str]:
        return [v.decode("latin-1") for k, v in self.raw_headers if k.decode("latin-1").lower() == name.lower()]


async def call(app: ASGIApp, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> Answer:
    """One GET to ``app`` as a server makes it: the request, then a disconnect only once the response is done."""
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"shop.test"), *(headers or [])], "client": ("127.0.0.1", 50000),
        "server": ("shop.test", 80), "state": {},
    }  # fmt: skip
    messages: list[Message] = []
    done = asyncio.Event()
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    await app(scope, receive, send)
    done.set()
    start = next(m for m in messages if m["type"] == "http.response.start")
    chunks = [m.get("body", b"") for m in messages if m["type"] == "http.response.body"]
    return Answer(start["status"], [(bytes(k), bytes(v)) for k, v in start["headers"]], chunks)
