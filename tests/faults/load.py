"""Load for the fault suite: visitors, the requests they send, and a check of every answer.

Every answer is checked as it arrives (:func:`check`): no 5xx, the app's own status,
marker and body intact once the one injected payload is taken out, personalised
responses never storable by a shared cache, no ``Set-Cookie`` for a visitor who sent
``Sec-GPC: 1``. What the pages carried (chat invitations per visitor and period,
greetings, banners) and which worker served them is counted in a :class:`Tally`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx

from .app import expected

LONDON = "81.2.69.142"  # in both GeoIP databases of the suite: GB in one, DK in the other
MAX_FAILURES_KEPT = 20

# the payload and the client script tag, once, right before the page's last </body>
_INJECTED = re.compile(
    rb'<script type="application/json" id="smalldata">(.*?)</script>'
    rb'<script src="/_smalldata/client\.js\?v=[0-9a-f]+" defer></script>(?=</body></html>\Z)',
    re.S,
)


@dataclass
class Visitor:
    """One browser: its cookies, the customer logged in (``X-User``), and whether it sends ``Sec-GPC: 1``."""

    key: str
    jar: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    gpc: bool = False

    def headers(self) -> dict[str, str]:
        headers = {"x-forwarded-for": LONDON}
        if self.jar:
            headers["cookie"] = "; ".join(f"{name}={value}" for name, value in self.jar.items())
        if self.user:
            headers["x-user"] = self.user
        if self.gpc:
            headers["sec-gpc"] = "1"
        return headers


@dataclass(frozen=True)
class Call:
    """One request: ``GET``/``POST`` of ``path`` by ``visitor``; ``parallel`` with others of theirs (a burst)."""

    visitor: Visitor
    path: str
    method: str = "GET"
    body: bytes = b""
    parallel: bool = False

    @property
    def endpoint(self) -> bool:
        return self.path.startswith("/_smalldata/")


class Shown(NamedTuple):
    """One chat invitation on a page: when it arrived, to whom, from which worker, and whether it
    counts against the cap (it does unless it came with other pages of the visitor's at once while
    a worker was serving without Redis)."""

    at: float
    visitor: str
    worker: str
    path: str
    counted: bool


@dataclass
class Tally:
    """What a phase sent and got back; ``failures`` are the broken promises (kept up to a few)."""

    requests: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    workers: Counter[str] = field(default_factory=Counter)
    # the invitations counted against the cap, per (visitor, cap period): at most its max each
    chats: Counter[tuple[str, str]] = field(default_factory=Counter)
    shown: list[Shown] = field(default_factory=list)  # every invitation to a visitor who allows storage
    chats_in_outage: int = 0  # on parallel pages while a worker was without Redis (the browser holds those)
    chats_without_cap: int = 0
    chats_private: int = 0  # invitations to visitors who refused storage: no cap can count them
    greetings: Counter[str] = field(default_factory=Counter)
    banners: Counter[str] = field(default_factory=Counter)
    seen: set[tuple[str, str]] = field(default_factory=set)  # (worker, banner) pairs
    injected: int = 0
    latencies: list[float] = field(default_factory=list)
    store_away: Callable[[], bool] = lambda: False  # is a worker serving without Redis now?

    def fail(self, message: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.append(message)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def seen_on_every_worker(self, banner: str, workers: int = 2) -> bool:
        return len({worker for worker, name in self.seen if name == banner and worker != "?"}) >= workers

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    def assert_clean(self) -> None:
        """No 5xx, no lost and no altered response."""
        assert self.requests > 0
        assert self.server_errors == 0, f"{self.server_errors} 5xx: {self.failures}"
        assert self.failed == 0, f"{self.failed} broken responses of {self.requests}, first ones: {self.failures}"

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "5xx": self.server_errors,
            "failed": self.failed,
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "workers": len(self.workers),
            "injected": self.injected,
            "p50_ms": round(self.percentile(0.5) * 1000, 1),
            "p99_ms": round(self.percentile(0.99) * 1000, 1),
            "max_ms": round(max(self.latencies, default=0) * 1000, 1),
        }


def client(url: str) -> httpx.AsyncClient:
    """A client for many visitors at once: each sends its own cookies, so the client keeps none."""
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=8)  # churn: both workers accept
    return httpx.AsyncClient(base_url=url, timeout=15, limits=limits, cookies=jar)


async def send(client: httpx.AsyncClient, call: Call, tally: Tally) -> httpx.Response | None:
    """Send ``call`` and check its answer into ``tally``; None when it was lost (no answer)."""
    tally.requests += 1
    started = time.perf_counter()
    try:
        response = await client.request(call.method, call.path, headers=call.visitor.headers(),
                                        content=call.body or None)  # fmt: skip
    except httpx.HTTPError as exc:
        tally.fail(f"{call.method} {call.path}: lost ({type(exc).__name__}: {exc})")
        return None
    tally.latencies.append(time.perf_counter() - started)
    check(call, response, tally)
    return response


def check(call: Call, response: httpx.Response, tally: Tally) -> None:
    """Every promise one answer must keep; the visitor's cookies updated as a browser would."""
    status = response.status_code
    tally.statuses[status] += 1
    where = f"{call.method} {call.path} ({call.visitor.key})"
    if status >= 500:
        tally.fail(f"{where}: {status} {response.text[:200]!r}")
        return
    set_cookies = response.headers.get_list("set-cookie")
    if call.visitor.gpc and set_cookies:
        tally.fail(f"{where}: Set-Cookie without consent: {set_cookies}")
    elif set_cookies:
        call.visitor.jar.update(cookies_from(set_cookies))
    if call.endpoint:
        if call.path.startswith("/_smalldata/decide") and status == 200 and response.json().get("decision"):
            # a decision the client shows, like a page's
            _count(call, response.json()["decision"], tally)
        return
    tally.workers[response.headers.get("x-worker", "?")] += 1
    found = expected(urlsplit(call.path).path, call.body)
    body = response.content
    payload = None
    match = _INJECTED.search(body) if found.media_type == "text/html" else None
    if match is not None:
        payload = json.loads(match[1])
        body = body[: match.start()] + body[match.end() :]
    if status != found.status or response.headers.get("x-app") != found.marker or body != found.body:
        tally.fail(f"{where}: altered: {status}, x-app {response.headers.get('x-app')}, "
                   f"{len(response.content)} bytes {response.content[:120]!r}")  # fmt: skip
        return
    # every HTML page has a decision (a banner rule matches every path); a 404 page the app renders without
    # asking for one is not decided (smalldata decides lazily), so it is the same for everyone and may stay public
    page = found.media_type == "text/html" and status == 200
    if (page or set_cookies) and "public" in response.headers.get("cache-control", ""):
        tally.fail(f"{where}: personalised but public: {response.headers.get('cache-control')}")
    if payload is not None:
        tally.injected += 1
        _count(call, payload["decision"], tally, response.headers.get("x-worker", "?"))


def _count(call: Call, decision: dict[str, Any], tally: Tally, worker: str = "?") -> None:
    visitor = call.visitor
    if decision.get("greeting"):
        tally.greetings[decision["greeting"]] += 1
    for slot, banner in (decision.get("banners") or {}).items():
        name = f"{slot}:{banner.get('html')}"
        tally.banners[name] += 1
        tally.seen.add((worker, name))
    chat = decision.get("chat")
    if chat is None:
        return
    if visitor.gpc:  # refused storage: nothing counts their invitations (documented), nor may the browser
        tally.chats_private += 1
        return
    cap = chat.get("cap")
    if cap is None:
        tally.chats_without_cap += 1
    # The cookie carries the visitor's caps: one page after another, the cap holds with Redis away
    # too. Pages sent at once while a worker is without Redis may each show it (the browser holds it).
    counted = not (call.parallel and tally.store_away())
    if counted:
        tally.chats[(visitor.key, cap["period"] if cap else "?")] += 1
    else:
        tally.chats_in_outage += 1
    tally.shown.append(Shown(time.monotonic(), visitor.key, worker, call.path, counted))


def cookies_from(set_cookies: list[str]) -> dict[str, str]:
    """What a browser sends back after these ``Set-Cookie`` headers."""
    jar: dict[str, str] = {}
    for header in set_cookies:
        name, _, value = header.split(";", 1)[0].partition("=")
        jar[name.strip()] = value
    return jar


async def run(client: httpx.AsyncClient, calls: Iterable[Call], tally: Tally, concurrency: int = 24) -> None:
    """Send ``calls``, ``concurrency`` at a time; each visitor's one after another, as a browser tab does
    (a burst sends a visitor's pages at once: :func:`burst`)."""
    gate = asyncio.Semaphore(concurrency)
    tabs: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def one(call: Call) -> None:
        async with tabs[call.visitor.key], gate:
            await send(client, call, tally)

    await asyncio.gather(*(one(call) for call in calls))


async def load_until(
    client: httpx.AsyncClient, batches: Callable[[int], list[Call]], tally: Tally, stop: asyncio.Event
) -> int:
    """Send batch after batch (``batches(n)`` makes the n-th) until ``stop`` is set; returns the batches sent."""
    sent = 0
    while not stop.is_set():
        await run(client, batches(sent), tally)
        sent += 1
    return sent


async def under_load(
    client: httpx.AsyncClient, batches: Callable[[int], list[Call]], tally: Tally,
    faults: Callable[[], Awaitable[None]],
) -> None:
    """Run ``faults`` while batches of load go on beside it; the load stops when the faults are done."""
    stop = asyncio.Event()
    loading = asyncio.create_task(load_until(client, batches, tally, stop))
    try:
        await faults()
    finally:
        stop.set()
        await loading


async def burst(client: httpx.AsyncClient, visitor: Visitor, tally: Tally, size: int = 8) -> None:
    """``size`` pricing pages of one visitor at once, with the same cookie (one worker or both)."""
    calls = [Call(visitor, "/pricing" if i % 2 else f"/pricing/{i}", parallel=True) for i in range(size)]
    await asyncio.gather(*(send(client, call, tally) for call in calls))


def mixed(visitors: list[Visitor], count: int, offset: int = 0) -> list[Call]:
    """``count`` requests of a shop's usual mix: pages, a capped pricing page, a big and a streamed
    page, JSON, a 404, a POST, and smalldata's own decide and events endpoints."""
    calls = []
    for n in range(offset, offset + count):
        visitor = visitors[n % len(visitors)]
        kind = n % 13
        if kind in (0, 1, 2, 3):
            calls.append(Call(visitor, f"/pages/{n % 50}"))
        elif kind == 4:
            calls.append(Call(visitor, "/pricing"))
        elif kind == 5:
            calls.append(Call(visitor, f"/big/{n % 5}"))
        elif kind == 6:
            calls.append(Call(visitor, f"/stream/{n % 7}"))
        elif kind in (7, 8):
            calls.append(Call(visitor, f"/api/{n % 11}"))
        elif kind == 9:
            calls.append(Call(visitor, f"/missing/{n % 3}"))
        elif kind == 10:
            calls.append(Call(visitor, "/echo", "POST", f"basket {n} · {visitor.key}".encode() * (n % 40 + 1)))
        elif kind == 11:
            calls.append(Call(visitor, "/_smalldata/decide?path=" + ("/pricing" if n % 2 else "/pages/1")))
        else:
            event = {"type": "chat_shown", "rule": "pricing-chat", "path": "/pricing"}
            calls.append(Call(visitor, "/_smalldata/events", "POST", json.dumps(event).encode()))
    return calls
