"""The shop's traffic: a realistic population, plus the visitors of the shop's own rule tests.

- **Population** (:class:`smalldata.tools.bench.traffic.Mix`): thousands of real browser User-Agents
  with a long tail, many client addresses (IPv4 and IPv6), new visitors and returning ones with
  real signed visitor cookies (history, visits, tags), logged-in customers and baskets in real
  session cookies (Starlette's ``SessionMiddleware``, under the settings' ``user.session_key`` and
  ``basket.session_key``), a few with ``Sec-GPC: 1``; home, category, product and other pages.
- **The rule tests' visitors**: one request in five is a ``tests:`` case of the rule files, sent
  as a signed preview link (``?sd_preview=…``, :mod:`smalldata.preview.links`) carrying its ``given:``
  signals and ``at:`` time, on its ``url:``. The middleware decides that page as the test
  describes, so every tested rule is exercised.

The cookies are signed with a key made for the run (the shop's own keys never leave its settings).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

from smalldata.tools.bench import traffic
from smalldata.tools.bench.traffic import Request

COOKIE = "sd_visitor"
RUN_KEY = "smalldata-bench-run-key-" + "0" * 16  # signs the run's own cookies and preview links
TEST_SHARE = 5  # one request in this many is a rule test's visitor


def bench_settings(settings: Any) -> Any:
    """The shop's settings with the run's signing key (cookies and preview links made here verify)."""
    from pydantic import SecretStr

    state = settings.state.model_copy(update={"secret_keys": (SecretStr(RUN_KEY),)})
    preview = settings.preview.model_copy(update={"secret_keys": ()})
    return settings.model_copy(update={"state": state, "preview": preview})


async def session_cookies(settings: Any, count: int, seed: int = 9) -> list[str]:
    """``count`` real Starlette session cookies: two in three logged in, most with a basket."""
    import httpx
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from smalldata.tools.bench.rulegen import CATEGORIES, PRODUCTS

    user_key = settings.user.session_key
    basket_key = settings.basket.session_key
    if not user_key and not basket_key:
        return []
    rng = random.Random(seed)
    wanted: dict[str, Any] = {}

    async def set_session(request: Any) -> PlainTextResponse:
        request.session.update(wanted)
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", set_session)],
                    middleware=[Middleware(SessionMiddleware, secret_key=traffic.SECRET, same_site="lax")])
    cookies: list[str] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop.example") as client:
        for n in range(count):
            wanted.clear()
            if user_key and n % 3 != 2:
                wanted[user_key] = {"id": f"c-{rng.randrange(10_000)}", "first_name": rng.choice(["Ida", "Ole", ""]),
                                    "tier": rng.choice(["basic", "silver", "gold"]), "orders": rng.randrange(12)}
            if basket_key:
                items = [{"sku": sku, "price": rng.choice([69.0, 129.0, 249.0]), "quantity": rng.randint(1, 3),
                          "category": rng.choice(CATEGORIES)} for sku in rng.sample(PRODUCTS, rng.choice([0, 1, 2, 4]))]
                wanted[basket_key] = {"items": items, "currency": settings.basket.currency or "EUR"}
            client.cookies.clear()
            await client.get("/")
            value = client.cookies.get("session")
            if value:
                cookies.append(f"session={value}")
    return cookies


def test_visitors(ruleset: Any, settings: Any, agent: str) -> list[Request]:
    """A request per rule test: its url, its ``given:`` and ``at:`` as a signed preview link."""
    from smalldata.preview.links import make_preview_url, preview_keys

    if not settings.preview.enabled:
        return []
    key = preview_keys(settings.preview, settings.state)[0]
    param = settings.preview.param
    requests = []
    for case in ruleset.tests:
        test = case.test
        at = test.at.replace(tzinfo=settings.zone) if test.at and test.at.tzinfo is None else test.at
        sets = {name: value for name, value in test.given.items() if name != "visitor.id"}
        url = make_preview_url(test.url or "/", sets=sets, at=at, variants={}, secret=key,
                               ttl_seconds=7 * 24 * 3600, param=param)
        path, _, query = url.partition("?")
        headers = [("host", "shop.example"), ("user-agent", agent), ("accept", "text/html"),
                   ("accept-language", "en-GB,en;q=0.8")]
        requests.append(Request(path or "/", query, headers, "81.7.1.2", None))
    return requests


class ShopTraffic:
    """Draws the shop's requests: the population, and every fifth one a rule test's visitor."""

    def __init__(self, mix: traffic.Mix, tests: list[Request], paths: list[str] | None = None) -> None:
        self.mix = mix
        self.tests = tests
        self.paths = paths
        self.n = 0

    def next(self) -> Request:
        self.n += 1
        if self.tests and self.n % TEST_SHARE == 0:
            return self.tests[(self.n // TEST_SHARE) % len(self.tests)]
        request = self.mix.next()
        if self.paths:  # the shop's own pages (--url): the population visits those
            path, _, query = self.paths[self.n % len(self.paths)].partition("?")
            return Request(path, query, request.headers, request.address, request.visitor)
        return request


def build(ruleset: Any, settings: Any, *, visitors: int, seed: int, paths: list[str] | None = None) -> ShopTraffic:
    """The traffic of one row (each row its own draws; the same seed gives the same requests)."""
    sessions = asyncio.run(session_cookies(settings, 40))
    geo = traffic.plan_geo()
    mix = traffic.Mix(user_agents=traffic.user_agent_pool(3000, seed=11 + seed),
                      addresses=traffic.address_pool(geo, 2000, seed=3 + seed), sessions=sessions,
                      visitors=visitors, seed=seed, now=datetime.now(UTC), state_settings=settings.state)
    tests = test_visitors(ruleset, settings, mix.user_agents[0]) if ruleset is not None else []
    return ShopTraffic(mix, tests, paths)
