"""A flood of clients that never return their cookie (crawlers, first requests, one-page visitors)
costs a Redis visitor store nothing lasting.

In-process against a real ``redis-server`` (speed: 100,000 requests in a few seconds): the
middleware is called as uvicorn calls it, with a shop whose pages match a capped rule, so both
the visitor record and the cap counters are what a flood would grow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from smalldata.middleware import SmallData
from smalldata.settings import Settings

try:  # the repository root on sys.path (python -m pytest)
    from tests.redis_server import redis_server
except ImportError:  # tests/ on sys.path (pytest's default rootdir insertion)
    from redis_server import redis_server  # type: ignore[no-redef]

REQUESTS = 100_000
AT_ONCE = 200
BROWSER = b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
CRAWLER = b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
RULES = """
rules:
  - id: welcome
    when: {page.path: {starts_with: /}}
    then: {greeting: "Welcome"}
  - id: pricing-chat
    when: {page.path: {starts_with: /pricing}}
    then: {chat: {message: "Questions about our prices?", after_seconds: 20}}
    cap: {max: 1, per: day}
"""
PAGE = b"<!doctype html><html><body><h1>Prices</h1></body></html>"


async def _shop(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": PAGE})


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


async def _flood(app: SmallData, user_agent: bytes, count: int) -> tuple[int, int]:
    """``count`` cookieless page views, ``AT_ONCE`` at a time; (pages answered 200, Set-Cookie headers sent)."""
    answered = cookies = 0

    async def one(n: int) -> None:
        nonlocal answered, cookies
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "https", "path": "/pricing", "raw_path": b"/pricing", "query_string": b"",
                 "root_path": "", "headers": [(b"host", b"shop.test"), (b"user-agent", user_agent)],
                 "client": ("127.0.0.1", 40000 + n % 20000), "server": ("shop.test", 443)}  # fmt: skip

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal answered, cookies
            if message["type"] == "http.response.start":
                answered += message["status"] == 200
                cookies += sum(name.lower() == b"set-cookie" for name, _ in message["headers"])

        await app(scope, receive, send)

    for start in range(0, count, AT_ONCE):
        await asyncio.gather(*(one(n) for n in range(start, min(start + AT_ONCE, count))))
    return answered, cookies


async def test_a_hundred_thousand_cookieless_page_views_leave_nothing_in_redis(redis_url: str, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    settings = Settings.model_validate({"rules": str(tmp_path), "state": {"store": redis_url,
                                        "secret_keys": ["flood-secret-key-0123456789"]}})  # fmt: skip
    app = SmallData(_shop, settings=settings)
    client = redis.Redis.from_url(redis_url)
    memory_before = client.info("memory")["used_memory"]

    browsers = await _flood(app, BROWSER, REQUESTS // 2)
    crawlers = await _flood(app, CRAWLER, REQUESTS // 2)

    keys, memory_after = client.dbsize(), client.info("memory")["used_memory"]
    client.close()
    assert browsers == (REQUESTS // 2, REQUESTS // 2)  # every first page answered and given its cookie
    assert crawlers[0] == REQUESTS // 2
    assert keys == 0, f"{keys} keys written for clients that never came back"
    assert memory_after - memory_before < 256 * 1024  # nothing lasting (client buffers aside)
