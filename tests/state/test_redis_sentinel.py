"""The Redis store behind Sentinel: pages keep being served while the master dies and its replica is promoted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from smalldata.app import Overrides
from smalldata.middleware import SmallData
from smalldata.settings import Settings
from smalldata.state.codec import CookieCodec

from .conftest import KEY
from .helpers import cookies_from

try:
    from tests.redis_cluster import SentinelSetup, redis_sentinel
except ImportError:  # tests/ on sys.path
    from redis_cluster import SentinelSetup, redis_sentinel  # type: ignore[no-redef]

RULES = """
rules:
  - id: saw-boots
    priority: 10
    when: {history.viewed_products: {contains: boots}}
    then: {greeting: "Page {visitor.pageviews}, saw boots"}
  - id: count
    when: {visitor.pageviews: {gte: 1}}
    then: {greeting: "Page {visitor.pageviews}"}
"""


@pytest.fixture(scope="module")
def sentinel() -> Iterator[SentinelSetup]:
    with redis_sentinel() as setup:
        yield setup


async def _page(request: Request) -> HTMLResponse:
    decision = await request.state.smalldata  # made when first asked for
    return HTMLResponse(f"<html><body><h1>{decision.greeting or '' if decision else ''}</h1></body></html>")


async def test_pages_are_served_through_a_sentinel_failover_without_resetting_the_visitor(
    sentinel: SentinelSetup, tmp_path: Path, now: datetime
) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    state = {"store": sentinel.url, "secret_keys": [KEY], "redis_timeout_ms": 500}
    page_paths = {"product": "/p/{product}"}
    settings = Settings.model_validate({"rules": str(tmp_path), "state": state, "page": page_paths})
    moment = [now]
    app = SmallData(Starlette(routes=[Route("/{path:path}", _page)]), settings=settings,
        overrides=Overrides(clock=lambda: moment[0]))
    jar: dict[str, str] = {}
    statuses: list[int] = []
    greetings: list[str] = []

    async def page(path: str) -> None:
        moment[0] += timedelta(seconds=1)
        cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://shop.test") as client:
            response = await client.get(path, headers={"cookie": cookie} if cookie else {})
        jar.update(cookies_from(response.headers.get_list("set-cookie")))
        statuses.append(response.status_code)
        greetings.append(response.text.split("<h1>")[1].split("</h1>")[0])

    await page("/p/boots")
    await page("/")
    await asyncio.sleep(0.2)  # the replica has the visitor's record
    sentinel.master.kill()
    sentinel.master.wait()
    for _ in range(200):  # ~20 s at most: a promotion takes ~2 s, the store tries again after 5 s
        await page("/")
        if greetings[-1].endswith("saw boots"):
            break
        await asyncio.sleep(0.1)

    assert set(statuses) == {200}
    # The page count rides in the cookie through the outage; the history is back with the promoted replica.
    assert [g.split(",")[0] for g in greetings] == [f"Page {n}" for n in range(1, len(greetings) + 1)]
    assert greetings[-1].endswith("saw boots") and len(greetings) > 3
    assert sentinel.current_master_port() == sentinel.replica_port
    assert _stored(sentinel, jar)  # the promoted replica keeps the visitor now


def _stored(sentinel: SentinelSetup, jar: dict[str, str]) -> bool:
    """The visitor's state is on the new master and the cookie carries only counters again."""
    visitor = CookieCodec(Settings.model_validate({"state": {"secret_keys": [KEY]}}).state.signing_keys()).loads(
        jar["sd_visitor"]
    )
    client = redis.Redis(port=sentinel.replica_port)
    try:
        return bool(visitor and visitor.get("k") and client.exists(f"sd:v:{{{visitor['i']}}}"))
    finally:
        client.close()
