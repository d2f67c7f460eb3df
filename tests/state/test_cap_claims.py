"""Frequency caps hold under parallel requests of one visitor, across app instances.

A shopper's browser (or a prefetching proxy) sends several pages at once with one
cookie; every one of them loads a state in which a 1-per-day chat invitation was not
shown yet. A server store counts the showings where every worker sees them, so the
cap holds; the cookie store hands the cap to the browser (see the browser tests).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from smalldata.app import Overrides
from smalldata.middleware import SmallData
from smalldata.settings import Settings

from .conftest import KEY, closed_port
from .helpers import cookies_from

RULES = """
rules:
  - id: help
    when: {page.path: {starts_with: /pricing}}
    cap: {max: 1, per: day}
    then:
      chat: {message: "Questions about our prices?", after_seconds: 20}
  - id: twice
    when: {page.path: {starts_with: /pricing}}
    cap: {max: 2, per: day}
    then: {greeting: "Prices for you"}
  - id: hero
    when: {page.path: {starts_with: /pricing}}
    then: {banner: {slot: hero, text: "Spring prices"}}
"""


async def _page(request: Request) -> HTMLResponse:
    await asyncio.sleep(0.01)  # the shop's own work (a database query): other requests run meanwhile
    decision = await request.state.smalldata  # made when first asked for
    return HTMLResponse(f"<html><body><h1>{decision.greeting or ''}</h1></body></html>")


async def _api(request: Request) -> JSONResponse:
    return JSONResponse({"prices": [549]})


def _instance(rules: Path, store: str, clock: Callable[[], datetime]) -> SmallData:
    (rules / "rules.yaml").write_text(RULES)
    state = {"store": store, "secret_keys": [KEY], "redis_timeout_ms": 2000}  # a loaded CI machine is no outage
    settings = Settings.model_validate({"rules": str(rules), "state": state})
    app = Starlette(routes=[Route("/pricing", _page), Route("/pricing.json", _api), Route("/", _page)])
    return SmallData(app, settings=settings, overrides=Overrides(clock=clock))


async def _get(app: SmallData, path: str, jar: dict[str, str]) -> httpx.Response:
    cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://shop.test") as client:
        return await client.get(path, headers={"cookie": cookie} if cookie else {})


def _decision(response: httpx.Response) -> dict[str, object]:
    """The decision in the page's payload (a page nothing was decided for gets none)."""
    assert response.status_code == 200 and response.text.startswith("<html>"), response.text
    match = re.search(r'<script type="application/json" id="smalldata">(.*?)</script>', response.text, re.S)
    if match is None:
        return {"chat": None, "greeting": None, "banners": {}}
    decision: dict[str, object] = json.loads(match.group(1))["decision"]
    return decision


async def _known_visitor(app: SmallData) -> dict[str, str]:
    """A visitor with a cookie, from a first page no capped rule applies to."""
    response = await _get(app, "/", {})
    jar = cookies_from(response.headers.get_list("set-cookie"))
    assert jar
    return jar


async def _burst(apps: list[SmallData], jar: dict[str, str], n: int = 16) -> list[httpx.Response]:
    """``n`` pricing pages at once with one cookie, spread over ``apps`` (workers)."""
    return await asyncio.gather(*(_get(apps[i % len(apps)], "/pricing", jar) for i in range(n)))


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_burst_of_one_visitors_pages_over_two_workers_gets_a_capped_invitation_once(
    redis_url: str, tmp_path: Path, now: datetime, workers: int
) -> None:
    apps = [_instance(tmp_path, redis_url, lambda: now) for _ in range(workers)]
    jar = await _known_visitor(apps[0])

    responses = await _burst(apps, jar)

    assert {response.status_code for response in responses} == {200}
    decisions = [_decision(response) for response in responses]
    assert sum(decision["chat"] is not None for decision in decisions) == 1
    assert sum(decision["greeting"] == "Prices for you" for decision in decisions) == 2
    later = await _get(apps[-1], "/pricing", jar)  # the cookie of the burst's start: Redis still knows
    assert _decision(later)["chat"] is None and _decision(later)["greeting"] is None


async def test_the_memory_store_holds_a_cap_under_a_burst_in_its_process(tmp_path: Path, now: datetime) -> None:
    app = _instance(tmp_path, "memory", lambda: now)
    jar = await _known_visitor(app)

    decisions = [_decision(response) for response in await _burst([app], jar)]

    assert sum(decision["chat"] is not None for decision in decisions) == 1


async def test_a_json_call_that_matches_a_capped_rule_does_not_use_up_its_cap(
    redis_url: str, tmp_path: Path, now: datetime
) -> None:
    app = _instance(tmp_path, redis_url, lambda: now)
    jar = await _known_visitor(app)

    for _ in range(3):
        assert (await _get(app, "/pricing.json", jar)).json() == {"prices": [549]}

    assert _decision(await _get(app, "/pricing", jar))["chat"] is not None


async def test_the_invitation_carries_its_cap_and_period_for_the_browser(tmp_path: Path, now: datetime) -> None:
    app = _instance(tmp_path, "cookie", lambda: now)
    jar = await _known_visitor(app)

    chat = _decision(await _get(app, "/pricing", jar))["chat"]

    assert isinstance(chat, dict)
    day = (now.date() - datetime(1970, 1, 1).date()).days
    assert chat["cap"] == {"max": 1, "per": "day", "period": f"day:{day}"}


async def test_with_the_store_away_a_capped_invitation_is_not_shown_but_the_rest_of_the_page_is(
    tmp_path: Path, now: datetime
) -> None:
    app = _instance(tmp_path, f"redis://127.0.0.1:{closed_port()}/0", lambda: now)
    jar = await _known_visitor(app)

    decisions = [_decision(response) for response in await _burst([app], jar, 4)]

    assert [decision["chat"] for decision in decisions] == [None] * 4  # its count could not be taken
    assert [decision["greeting"] for decision in decisions] == [None] * 4
    assert all(decision["banners"] for decision in decisions)  # the uncapped rule still applies


async def test_a_capped_invitation_shown_while_redis_was_up_is_not_shown_again_while_it_is_away(
    redis_url: str, tmp_path: Path, now: datetime
) -> None:
    up = _instance(tmp_path, redis_url, lambda: now)
    away = _instance(tmp_path, f"redis://127.0.0.1:{closed_port()}/0", lambda: now)  # the same shop, Redis gone
    jar = await _known_visitor(up)
    shown = await _get(up, "/pricing", jar)
    assert _decision(shown)["chat"] is not None
    jar.update(cookies_from(shown.headers.get_list("set-cookie")))

    during = await _get(away, "/pricing", jar)

    assert _decision(during)["chat"] is None  # a cap that cannot be counted is not shown
    assert _decision(during)["banners"]  # the rest of the page still is
