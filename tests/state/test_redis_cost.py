"""What one page costs on the shared Redis, counted by the server itself (``INFO stats``/``commandstats``).

A round trip is one read event on the server (``total_reads_processed``): a pipeline is one,
however many commands it carries. README's "Scale" section states these numbers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
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
from smalldata.state import RedisStore

from .conftest import KEY
from .helpers import cookies_from, make_settings

RULES = """
rules:
  - id: count
    when: {visitor.pageviews: {gte: 1}}
    then: {greeting: "Page {visitor.pageviews}"}
  - id: help
    when: {page.path: {starts_with: /pricing}}
    cap: {max: 3, per: day}
    then: {chat: {message: "Questions about our prices?", after_seconds: 20}}
"""


async def _page(request: Request) -> HTMLResponse:
    decision = await request.state.smalldata  # made when first asked for
    return HTMLResponse(f"<html><body><h1>{decision.greeting or '' if decision else ''}</h1></body></html>")


class Shop:
    """One app on a real Redis and a browser's cookie jar; ``cost`` counts what a page asked of Redis."""

    def __init__(self, app: SmallData, redis_client: redis.Redis, clock: list[datetime]) -> None:
        self.app, self.redis, self.clock = app, redis_client, clock
        self.jar: dict[str, str] = {}

    async def get(self, path: str, **headers: str) -> httpx.Response:
        self.clock[0] += timedelta(minutes=2)  # a later minute: the page changes the stored state
        cookie = "; ".join(f"{name}={value}" for name, value in self.jar.items())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="https://s.test") as c:
            response = await c.get(path, headers={"cookie": cookie, **headers} if cookie else headers)
        assert response.status_code == 200
        self.jar.update(cookies_from(response.headers.get_list("set-cookie")))
        return response

    async def cost(self, page: Callable[[], object]) -> tuple[int, dict[str, int], int]:
        """Round trips, commands by name and bytes both ways of one page (the measuring itself taken out)."""
        before, idle = self._counts(), self._counts()
        await page()  # type: ignore[misc]
        after = self._counts()
        trips = (after[0] - idle[0]) - (idle[0] - before[0])
        commands = {name: after[1].get(name, 0) - idle[1].get(name, 0) - (idle[1][name] - before[1][name]
                    if name in before[1] else 0) for name in after[1]}  # fmt: skip
        wire = (after[2] - idle[2]) - (idle[2] - before[2])
        return trips, {name: n for name, n in commands.items() if n}, wire

    def _counts(self) -> tuple[int, dict[str, int], int]:
        stats, commands = self.redis.info("stats"), self.redis.info("commandstats")
        calls = {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in commands.items()}
        return int(stats["total_reads_processed"]), calls, int(stats["total_net_input_bytes"]) + int(
            stats["total_net_output_bytes"]
        )


@pytest.fixture
async def shop(redis_url: str, tmp_path: Path, now: datetime) -> AsyncIterator[Shop]:
    (tmp_path / "rules.yaml").write_text(RULES)
    settings = Settings.model_validate(
        {"rules": str(tmp_path), "page": {"product": "/p/{product}"},
         "state": {"store": redis_url, "secret_keys": [KEY], "redis_timeout_ms": 2000}}
    )
    clock = [now]
    app = SmallData(Starlette(routes=[Route("/{path:path}", _page)]), settings=settings,
        overrides=Overrides(clock=lambda: clock[0]))
    client = redis.Redis.from_url(redis_url)
    shop = Shop(app, client, clock)
    await shop.get("/")  # a first page (no cookie yet) keeps its state in the cookie: Redis is not asked
    await shop.get("/")  # the cookie comes back: this page opens the connection (HELLO), not a page's cost
    yield shop
    client.close()


async def test_a_returning_visitors_page_costs_a_read_and_a_pipelined_write(shop: Shop) -> None:
    trips, commands, _ = await shop.cost(lambda: shop.get("/"))

    assert (trips, commands) == (2, {"mget": 1, "set": 1})


async def test_a_logged_in_visitors_page_reads_both_records_in_one_trip_and_writes_them_in_another(
    shop: Shop, redis_url: str, now: datetime
) -> None:
    store = RedisStore(make_settings(store=redis_url, redis_timeout_ms=2000))
    jar: dict[str, str] = {}

    async def page() -> None:
        state = await store.load(jar, now=now, user_id="anna@example.com")
        state.touch(now)
        state.record_page(product="p1")
        jar.update(cookies_from(await store.save(state, secure=True, user_id="anna@example.com")))

    await page()
    trips, commands, _ = await shop.cost(page)
    await store.aclose()

    assert (trips, commands) == (2, {"mget": 1, "set": 2})


async def test_a_page_showing_a_capped_rule_adds_one_trip_for_the_claim(shop: Shop) -> None:
    trips, commands, _ = await shop.cost(lambda: shop.get("/pricing"))

    # commandstats counts the script's own GET and SET too: one EVAL, one trip
    assert (trips, commands) == (3, {"mget": 1, "eval": 1, "get": 1, "set": 2})


async def test_a_pages_bytes_on_the_wire_are_its_record_twice_and_little_else(shop: Shop) -> None:
    for product in range(20):  # a full history: the largest record a visitor has
        await shop.get(f"/p/{product}")
    keys = shop.redis.keys("sd:v:*")
    record = len(shop.redis.get(keys[0]) or b"")

    _, _, wire = await shop.cost(lambda: shop.get("/"))

    assert 2 * record < wire < 2 * record + 400
