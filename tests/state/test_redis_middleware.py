"""Two app instances behind a load balancer share one visitor through a real Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from smalldata.app import Overrides
from smalldata.middleware import SmallData
from smalldata.settings import Settings
from smalldata.state.codec import CookieCodec

from .conftest import KEY, closed_port
from .helpers import CORE_KEYS, cookies_from

RULES = """
rules:
  - id: second-page
    when: {visitor.pageviews: {gte: 2}}
    then: {greeting: "Page {visitor.pageviews} of this visit"}
  - id: welcome-back
    priority: 10
    when: {visitor.returning: true}
    then: {greeting: "Welcome back, visit {visitor.visits}"}
"""


async def _page(request: Request) -> HTMLResponse:
    decision = await request.state.smalldata  # made when first asked for
    return HTMLResponse(f"<html><body><h1>{decision.greeting or ''}</h1></body></html>")


def _settings(rules: Path, redis_url: str) -> Settings:
    (rules / "rules.yaml").write_text(RULES)
    return Settings.model_validate(
        {"rules": str(rules), "state": {"store": redis_url, "secret_keys": [KEY]}}
    )


async def _get(app: SmallData, jar: dict[str, str], **headers: str) -> httpx.Response:
    cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://shop.test") as client:
        return await client.get("/", headers={"cookie": cookie, **headers} if cookie else headers)


def _instance(settings: Settings, clock: Callable[[], datetime]) -> SmallData:
    app = Starlette(routes=[Route("/", _page)])
    return SmallData(app, settings=settings, overrides=Overrides(clock=clock))


async def test_two_app_instances_share_one_visitor_through_redis(
    redis_url: str, tmp_path: Path, now: datetime
) -> None:
    settings = _settings(tmp_path, redis_url)
    moment = [now]
    one = _instance(settings, lambda: moment[0])
    two = _instance(settings, lambda: moment[0])
    jar: dict[str, str] = {}

    async def get(app: SmallData) -> str:
        response = await _get(app, jar)
        jar.update(cookies_from(response.headers.get_list("set-cookie")))
        return response.text.split("<h1>")[1].split("</h1>")[0]

    assert await get(one) == ""
    moment[0] = now + timedelta(minutes=1)
    assert await get(two) == "Page 2 of this visit"
    moment[0] = now + timedelta(days=2)
    assert await get(one) == "Welcome back, visit 2"

    visitor = CookieCodec(settings.state.signing_keys()).loads(jar["sd_visitor"])
    assert visitor is not None and set(visitor) <= CORE_KEYS  # the state itself lives in Redis
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.exists(f"sd:v:{{{visitor['i']}}}")
    finally:
        client.close()


async def test_with_global_privacy_control_redis_is_never_touched(
    redis_url: str, tmp_path: Path, now: datetime
) -> None:
    app = _instance(_settings(tmp_path, redis_url), lambda: now)

    first = await _get(app, {}, **{"sec-gpc": "1"})
    second = await _get(app, {}, **{"sec-gpc": "1"})

    assert (first.status_code, second.status_code) == (200, 200)
    assert "set-cookie" not in first.headers
    assert "<h1></h1>" in second.text  # a fresh, unremembered visitor each time
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.dbsize() == 0
    finally:
        client.close()


async def test_with_redis_down_pages_are_served_and_the_visitor_kept_in_the_cookie(
    tmp_path: Path, now: datetime
) -> None:
    settings = _settings(tmp_path, f"redis://127.0.0.1:{closed_port()}/0")
    moment = [now]
    app = _instance(settings, lambda: moment[0])
    jar: dict[str, str] = {}

    first = await _get(app, jar)
    jar.update(cookies_from(first.headers.get_list("set-cookie")))
    moment[0] = now + timedelta(minutes=1)
    second = await _get(app, jar)

    assert (first.status_code, second.status_code) == (200, 200)
    assert "<h1>Page 2 of this visit</h1>" in second.text


async def test_a_crawler_that_keeps_its_cookie_still_leaves_nothing_in_redis(
    redis_url: str, tmp_path: Path, now: datetime
) -> None:
    app = _instance(_settings(tmp_path, redis_url), lambda: now)
    jar: dict[str, str] = {}
    crawler = {"user-agent": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"}

    for _ in range(3):
        response = await _get(app, jar, **crawler)
        jar.update(cookies_from(response.headers.get_list("set-cookie")))

    client = redis.Redis.from_url(redis_url)
    assert jar and client.dbsize() == 0
    client.close()
