"""What smalldata costs per request, in-process: a 20 KB page, JSON, and a page the app gzips itself.

Each case sends the same request to the bare app and to the app wrapped in ``SmallData``
(one rule that never matches, a returning visitor with a valid cookie), interleaved,
raw ASGI, no network, and prints the p50 of each side, the overhead in µs and in S
(the p50 of a bare Starlette 20 KB page in the same run)::

    PYTHONPATH=. python scripts/bench_pages.py [rounds]
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from smalldata.app import Overrides
from smalldata.events import NullSink
from smalldata.middleware import SmallData
from smalldata.settings import Settings
from smalldata.state import CookieStore, StateSettings

PAGE = "<!doctype html><html><head><title>Shop</title></head><body>" + "<p>Warm wool socks, knitted.</p>" * 640
PAGE += "</body></html>"  # about 20 KB
RULES = """
rules:
  - id: never
    when: {page.path: /nowhere}
    then: {greeting: Hi}
  - id: greeting
    when: {page.path: /greeted}
    then: {greeting: Welcome back}
"""


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE)


async def api(request: Request) -> Response:
    return JSONResponse({"ok": True, "items": list(range(20))})


def shop(gzip_inside: bool) -> Starlette:
    middleware = [Middleware(GZipMiddleware)] if gzip_inside else []
    routes = [Route("/", page), Route("/greeted", page), Route("/api", api)]
    return Starlette(routes=routes, middleware=middleware)


def wrapped(app: Starlette, rules: Path) -> SmallData:
    store = CookieStore(StateSettings(secret_keys=(SecretStr("bench-secret-key-0123456789"),)))
    return SmallData(app, rules=rules, settings=Settings(timezone="Europe/Copenhagen"),
        overrides=Overrides(store=store, events=NullSink()))  # fmt: skip


async def once(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, list[tuple[bytes, bytes]]]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("shop.test", 80)}  # fmt: skip
    sent: list[tuple[bytes, bytes]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.extend(message["headers"])

    start = time.perf_counter_ns()
    await app(scope, receive, send)
    return time.perf_counter_ns() - start, sent


async def paired(bare: Any, wrapped_app: Any, path: str, headers: list[tuple[bytes, bytes]],
                 rounds: int) -> tuple[float, float]:  # fmt: skip
    sides: tuple[list[int], list[int]] = ([], [])
    for i in range(rounds):
        for side in ((0, 1) if i % 2 else (1, 0)):
            took, _ = await once((bare, wrapped_app)[side], path, headers)
            sides[side].append(took)
    return statistics.median(sides[0]) / 1000, statistics.median(sides[1]) / 1000


async def main(rounds: int) -> None:
    rules = Path(tempfile.mkdtemp())
    (rules / "rules.yaml").write_text(RULES, encoding="utf-8")
    plain, gzipped = shop(False), shop(True)
    plain_wrapped, gzip_inside = wrapped(plain, rules), wrapped(gzipped, rules)
    gzip_outside = GZipMiddleware(wrapped(shop(False), rules))
    gzip_bare = GZipMiddleware(shop(False))
    _, first = await once(plain_wrapped, "/", [])
    cookie = next(v for k, v in first if k == b"set-cookie").split(b";")[0]
    visitor = [(b"accept", b"text/html"), (b"cookie", cookie)]
    browser = [*visitor, (b"accept-encoding", b"gzip, br")]
    gc.disable()
    cases = [
        ("page, no rule matches", plain, plain_wrapped, "/", visitor),
        ("page with a greeting", plain, plain_wrapped, "/greeted", visitor),
        ("JSON", plain, plain_wrapped, "/api", visitor),
        ("greeting, gzip outside", gzip_bare, gzip_outside, "/greeted", browser),
        ("greeting, gzip inside", gzipped, gzip_inside, "/greeted", browser),
    ]
    for _ in range(2):  # warm-up
        for _, bare, wrapped_app, path, headers in cases:
            await paired(bare, wrapped_app, path, headers, 200)
    results = [(name, *await paired(bare, app, path, headers, rounds)) for name, bare, app, path, headers in cases]
    s = results[0][1]
    print(f"S (bare Starlette 20 KB page, p50) = {s:.1f} µs")
    for name, bare_us, wrapped_us in results:
        overhead = wrapped_us - bare_us
        print(f"{name:24} bare {bare_us:7.1f} µs  wrapped {wrapped_us:7.1f} µs  overhead {overhead:6.1f} µs"
              f" = {overhead / s:5.1f} S")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
