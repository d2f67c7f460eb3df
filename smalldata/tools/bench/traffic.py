"""A realistic traffic mix for the example shop: who visits, from where, with what, and which pages.

- **User-Agents**: every distinct real browser string in ``fake-useragent``'s data,
  ranked by its observed share, plus patch-level variants of them (new browser
  builds are how the long tail of a real access log arises), repeated with a
  Zipf-like law: a few strings dominate, thousands appear a handful of times.
- **Client IPs**: public addresses in the networks of a GeoIP2 City ``.mmdb`` built
  for the run with ``mmdb-writer`` (cities, regions, coordinates across Europe and
  beyond), a share not in the database, and some IPv6.
- **Visitors**: new ones without cookies, returning ones with real signed state
  cookies (history, visits, tags) made by :class:`smalldata.state.CookieStore`,
  logged-in ones and ones with baskets with real session cookies made by the
  shop's own ``/login`` and ``/basket/add``, a few with ``Sec-GPC: 1``.
- **Pages**: home, categories, products (with search and UTM query strings and
  referrers), basket, checkout, pricing, FAQ and the store locator.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from smalldata.tools.bench.rulegen import CATEGORIES, PRODUCTS

SECRET = "smalldata-demo-shop-secret-key"  # the example shop's default
LANGUAGES = ("da-DK,da;q=0.9,en;q=0.8", "en-US,en;q=0.9", "en-GB,en;q=0.8", "sv-SE,sv;q=0.9,en;q=0.7", "de-DE,de")
REFERRERS = ("https://www.google.com/", "https://www.facebook.com/", "https://duckduckgo.com/", "")
UTM = ("utm_source=newsletter&utm_medium=email&utm_campaign=winter-2026", "utm_source=google&utm_medium=cpc",
       "utm_source=instagram&utm_medium=social&utm_campaign=spring-2027")  # fmt: skip


# -- User-Agents -----------------------------------------------------------------------------


def real_user_agents() -> list[str]:
    """Distinct browser User-Agents from ``fake-useragent``'s data, most common first."""
    from fake_useragent.utils import load

    shares: dict[str, float] = {}
    for entry in load():
        agent = entry["useragent"]
        shares[agent] = shares.get(agent, 0.0) + float(entry.get("percent") or 0.0)
    return sorted(shares, key=lambda agent: -shares[agent])


_VERSION = re.compile(
    r"(Chrome|CriOS|Firefox|FxiOS|Edg|EdgiOS|Version|OPR|SamsungBrowser)/(\d+)\.(\d+)(\.\d+)?(\.\d+)?"
)


def build_variant(agent: str, n: int) -> str | None:
    """The same browser at another patch build (``Chrome/120.0.6099.71`` → ``…6099.n``), or None."""
    match = _VERSION.search(agent)
    if match is None:
        return None
    name, major, minor = match.group(1), match.group(2), match.group(3)
    return agent[: match.start()] + f"{name}/{major}.{minor}.{1000 + n // 50}.{n % 50}" + agent[match.end() :]


def user_agent_pool(size: int, seed: int = 11, builds_from: int = 0) -> list[str]:
    """``size`` distinct UAs: the real ones first, then build variants of them (interleaved).

    Pools with different ``builds_from`` (far enough apart) share the real UAs and
    no variant: the same head, a long tail of their own.
    """
    real = real_user_agents()
    pool = list(real)
    seen = set(pool)
    rng = random.Random(seed)
    n = 0
    while len(pool) < size and n < size * 20:
        variant = build_variant(rng.choice(real[: max(50, len(real) // 2)]), builds_from + n)
        n += 1
        if variant is not None and variant not in seen:
            seen.add(variant)
            pool.append(variant)
    return pool[:size]


class Zipf:
    """Draws indexes ``0..n-1`` with probability proportional to ``1 / (rank + 1) ** s``."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        self.rng = rng
        self.cumulative = list(accumulate(1.0 / (rank + 1) ** s for rank in range(n)))
        self.n = n

    def draw(self) -> int:
        from bisect import bisect_left

        return min(bisect_left(self.cumulative, self.rng.random() * self.cumulative[-1]), self.n - 1)


# -- GeoIP -----------------------------------------------------------------------------------

_PLACES = [  # country, continent, city, region, latitude, longitude, time zone
    ("DK", "EU", "Copenhagen", "Capital Region", 55.6761, 12.5683, "Europe/Copenhagen"),
    ("DK", "EU", "Aarhus", "Central Jutland", 56.1629, 10.2039, "Europe/Copenhagen"),
    ("DK", "EU", "Odense", "South Denmark", 55.4038, 10.4024, "Europe/Copenhagen"),
    ("DK", "EU", "Aalborg", "North Jutland", 57.0488, 9.9217, "Europe/Copenhagen"),
    ("SE", "EU", "Malmö", "Skåne", 55.6050, 13.0038, "Europe/Stockholm"),
    ("SE", "EU", "Stockholm", "Stockholm", 59.3293, 18.0686, "Europe/Stockholm"),
    ("NO", "EU", "Oslo", "Oslo", 59.9139, 10.7522, "Europe/Oslo"),
    ("DE", "EU", "Berlin", "Berlin", 52.5200, 13.4050, "Europe/Berlin"),
    ("DE", "EU", "Hamburg", "Hamburg", 53.5511, 9.9937, "Europe/Berlin"),
    ("GB", "EU", "London", "England", 51.5072, -0.1276, "Europe/London"),
    ("NL", "EU", "Amsterdam", "North Holland", 52.3676, 4.9041, "Europe/Amsterdam"),
    ("FI", "EU", "Helsinki", "Uusimaa", 60.1699, 24.9384, "Europe/Helsinki"),
    ("FR", "EU", "Paris", "Île-de-France", 48.8566, 2.3522, "Europe/Paris"),
    ("PL", "EU", "Warsaw", "Masovia", 52.2297, 21.0122, "Europe/Warsaw"),
    ("US", "NA", "New York", "New York", 40.7128, -74.0060, "America/New_York"),
    ("US", "NA", "Seattle", "Washington", 47.6062, -122.3321, "America/Los_Angeles"),
]
_EU = {"DK", "SE", "DE", "NL", "FI", "FR", "PL"}
# First octets of public IPv4 space (none private, reserved or multicast).
_FIRST_OCTETS = (2, 5, 31, 37, 46, 62, 77, 78, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 109,
                 176, 178, 185, 188, 193, 194, 195, 212, 213, 217)  # fmt: skip


@dataclass
class GeoPlan:
    """The networks written to the ``.mmdb`` and how to draw addresses from them."""

    networks: list[tuple[str, int]] = field(default_factory=list)  # (a.b prefix of a /16, place index)
    v6_networks: list[str] = field(default_factory=list)


def plan_geo(seed: int = 5, networks: int = 240) -> GeoPlan:
    rng = random.Random(seed)
    plan = GeoPlan()
    used: set[str] = set()
    while len(plan.networks) < networks:
        prefix = f"{rng.choice(_FIRST_OCTETS)}.{rng.randrange(256)}"
        if prefix not in used:
            used.add(prefix)
            plan.networks.append((prefix, rng.randrange(len(_PLACES))))
    plan.v6_networks = [f"2a02:{0xff00 + i:x}" for i in range(16)]
    return plan


def build_mmdb(path: Path, plan: GeoPlan) -> Path:
    """Write a GeoIP2-City database covering ``plan`` to ``path`` (a real file read by maxminddb)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City", languages=["en"],
                        description="smalldata benchmark City database")  # fmt: skip
    for prefix, place in plan.networks:
        writer.insert_network(IPSet([f"{prefix}.0.0/16"]), _record(_PLACES[place]))
    for i, prefix in enumerate(plan.v6_networks):
        writer.insert_network(IPSet([f"{prefix}::/32"]), _record(_PLACES[i % len(_PLACES)]))
    writer.to_db_file(str(path))
    return path


def _record(place: tuple[str, str, str, str, float, float, str]) -> dict[str, Any]:
    country, continent, city, region, latitude, longitude, zone = place
    return {
        "city": {"names": {"en": city}},
        "continent": {"code": continent},
        "country": {"iso_code": country, "is_in_european_union": country in _EU},
        "location": {"latitude": latitude, "longitude": longitude, "time_zone": zone},
        "subdivisions": [{"names": {"en": region}}],
    }


def address_pool(plan: GeoPlan, size: int, seed: int = 3) -> list[str]:
    """``size`` distinct client addresses: 85 % in the database, 10 % outside it, 5 % IPv6."""
    rng = random.Random(seed)
    pool: dict[str, None] = {}
    while len(pool) < size:
        roll = rng.random()
        if roll < 0.85:
            prefix = rng.choice(plan.networks)[0]
            address = f"{prefix}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        elif roll < 0.95:  # public, but not in our database
            address = f"{rng.choice((8, 9, 12, 13, 17, 20, 23))}.{rng.randrange(256)}.{rng.randrange(256)}.7"
        else:
            address = f"{rng.choice(plan.v6_networks)}:{rng.randrange(65536):x}::{rng.randrange(1, 65535):x}"
        pool[address] = None
    return list(pool)


# -- visitors --------------------------------------------------------------------------------


@dataclass
class Visitor:
    """One person's browser: what it sends with every request."""

    user_agent: str
    address: str
    language: str
    state_cookie: str | None = None  # "name=value" of smalldata's visitor cookie
    session_cookie: str | None = None  # the shop's session (login, basket)
    gpc: bool = False
    requests: int = 0

    def headers(self, referrer: str) -> list[tuple[str, str]]:
        headers = [
            ("host", "shop.example"),
            ("user-agent", self.user_agent),
            ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("accept-language", self.language),
        ]
        cookies = "; ".join(c for c in (self.session_cookie, self.state_cookie) if c)
        if cookies:
            headers.append(("cookie", cookies))
        if referrer:
            headers.append(("referer", referrer))
        if self.gpc:
            headers.append(("sec-gpc", "1"))
        return headers


def returning_cookie(rng: random.Random, now: datetime, settings: Any = None) -> str:
    """A real signed visitor cookie for someone seen before: past visits, history, tags, caps.

    ``settings``: the shop's :class:`~smalldata.state.StateSettings` (default: the example shop's key).
    """
    from pydantic import SecretStr

    from smalldata.state import CookieStore, StateSettings, VisitorState

    store = CookieStore(settings or StateSettings(secret_keys=(SecretStr(SECRET),)))
    first = now - timedelta(days=rng.uniform(1, 300))
    state = VisitorState.new(first, limits=store.settings.history)
    state.touch(first)
    last = first
    for _ in range(rng.randint(1, 25)):  # earlier visits of a few page views each
        last = min(last + timedelta(hours=rng.uniform(1, 24 * 20)), now - timedelta(minutes=rng.uniform(1, 600)))
        for page in range(rng.randint(1, 8)):
            state.touch(last + timedelta(minutes=page))
            product = rng.choice(PRODUCTS) if rng.random() < 0.6 else None
            category = rng.choice(CATEGORIES) if rng.random() < 0.5 else None
            state.record_page(product, category, None)
    if rng.random() < 0.3:
        state.tags.append(f"interest-{rng.randrange(100)}")
    header = store.state_cookie(state, secure=False)
    return header.partition(";")[0]


async def shop_sessions(app: Any, count: int, seed: int = 9) -> list[str]:
    """Real session cookies from the shop's own log-in and basket: ``count`` of them, mixed."""
    import httpx

    rng = random.Random(seed)
    cookies: list[str] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.example") as client:
        for n in range(count):
            client.cookies.clear()
            if n % 3 != 2:  # two in three log in
                customer = rng.choice(["mette", "jonas"])
                await client.post("/login", data={"customer": customer, "first_name": rng.choice(["", "Ida", "Ole"])})
            for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
                await client.post("/basket/add", data={"sku": rng.choice(PRODUCTS)})
            value = client.cookies.get("session")
            if value:
                cookies.append(f"session={value}")
    return cookies


@dataclass(frozen=True)
class Request:
    """One page request of the mix (built before timing starts)."""

    path: str
    query: str
    headers: list[tuple[str, str]]
    address: str
    visitor: Visitor | None


class Mix:
    """Draws page requests: returning visitors repeat with a long tail, some are brand new."""

    def __init__(
        self,
        *,
        user_agents: list[str],
        addresses: list[str],
        sessions: list[str],
        visitors: int = 3000,
        seed: int = 1,
        new_share: float = 0.2,
        now: datetime | None = None,
        state_settings: Any = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.state_settings = state_settings
        self.user_agents = user_agents
        self.addresses = addresses
        self.sessions = sessions
        self.new_share = new_share
        self.ua_zipf = Zipf(len(user_agents), 0.75, self.rng)
        self.ip_zipf = Zipf(len(addresses), 0.8, self.rng)
        self.visitor_zipf = Zipf(visitors, 0.8, self.rng)
        now = now or datetime.now(UTC)
        self.visitors = [self._visitor(now, returning=self.rng.random() < 0.7) for _ in range(visitors)]

    def _visitor(self, now: datetime, *, returning: bool) -> Visitor:
        rng = self.rng
        visitor = Visitor(
            user_agent=self.user_agents[self.ua_zipf.draw()],
            address=self.addresses[self.ip_zipf.draw()],
            language=rng.choice(LANGUAGES),
            gpc=rng.random() < 0.05,
        )
        if returning:
            visitor.state_cookie = returning_cookie(rng, now, self.state_settings)
        if self.sessions and rng.random() < 0.35:
            visitor.session_cookie = rng.choice(self.sessions)
        return visitor

    def next(self) -> Request:
        rng = self.rng
        if rng.random() < self.new_share:
            visitor = self._visitor(datetime.now(UTC), returning=False)
            kept: Visitor | None = None  # a one-off: never seen again
        else:
            visitor = kept = self.visitors[self.visitor_zipf.draw()]
        path, query = self._page()
        referrer = rng.choice(REFERRERS) if visitor.requests == 0 else "https://shop.example/"
        visitor.requests += 1
        return Request(path, query, visitor.headers(referrer), visitor.address, kept)

    def _page(self) -> tuple[str, str]:
        rng = self.rng
        roll = rng.random()
        query = rng.choice(UTM) if rng.random() < 0.08 else ""
        if roll < 0.18:
            return "/", query
        if roll < 0.42:
            search = "q=" + rng.choice(PRODUCTS)[:5] if rng.random() < 0.1 else ""
            return f"/category/{rng.choice(CATEGORIES)}", query or search
        if roll < 0.80:
            return f"/products/{rng.choice(PRODUCTS)}", query
        return rng.choice(["/basket", "/checkout", "/pricing", "/faq", "/stores"]), query


def remember(request: Request, set_cookies: list[str], cookie_name: str) -> None:
    """Keep the visitor cookie the middleware set, as a browser would."""
    if request.visitor is None:
        return
    for header in set_cookies:
        pair = header.partition(";")[0]
        if pair.startswith(cookie_name + "="):
            request.visitor.state_cookie = pair


def scope_for(request: Request) -> dict[str, Any]:
    """A fresh ASGI scope (the app and middleware write into it, so never reuse one)."""
    from smalldata.foundation.asgi import make_scope

    url = request.path + ("?" + request.query if request.query else "")
    return make_scope(url, headers=request.headers, client_ip=request.address)


Factory = Callable[[], Request]


def describe(mix: Mix, requests: list[Request]) -> dict[str, Any]:
    """What the drawn mix contains (for the report)."""
    agents = {dict(r.headers)["user-agent"] for r in requests}
    return {
        "requests": len(requests),
        "distinct_user_agents": len(agents),
        "distinct_addresses": len({r.address for r in requests}),
        "user_agent_pool": len(mix.user_agents),
        "address_pool": len(mix.addresses),
        "new_visitor_share": round(sum(1 for r in requests if r.visitor is None) / max(len(requests), 1), 3),
        "with_session": round(sum(1 for r in requests if _has_session(r)) / max(len(requests), 1), 3),
        "paths": len({r.path for r in requests}),
    }


def _has_session(request: Request) -> bool:
    return "session=" in dict(request.headers).get("cookie", "")


def dump(requests: list[Request]) -> str:
    return json.dumps([[r.path, r.query, r.headers, r.address] for r in requests])
