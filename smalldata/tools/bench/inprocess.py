"""Paired in-process measurements: the same request through the app with and without ``SmallData``.

Each request of the mix is sent twice, raw ASGI, no network: once to the bare
app and once to the same app with the middleware, in alternating order (so CPU
cache warmth and clock drift fall on both sides equally). The overhead of a
request is the difference of the two wall times, measured with
``time.perf_counter_ns``. Nothing else runs in the process meanwhile.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from smalldata.tools.bench.traffic import SECRET, Request, remember, scope_for

App = Callable[..., Any]
COOKIE = "sd_visitor"


@dataclass
class Response:
    status: int = 0
    set_cookies: list[str] = field(default_factory=list)
    body: bytes = b""


async def call(app: App, scope: dict[str, Any]) -> tuple[int, Response]:
    """Run one request; returns (nanoseconds, response)."""
    response = Response()
    chunks: list[bytes] = []

    asked = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        # the request once; after that, as a server does, nothing until the client goes away (Django
        # listens for the disconnect while its view runs)
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.set_cookies = [v.decode("latin-1") for k, v in message["headers"] if k == b"set-cookie"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    start = time.perf_counter_ns()
    await app(scope, receive, send)
    elapsed = time.perf_counter_ns() - start
    finished.set()
    response.body = b"".join(chunks)
    return elapsed, response


@dataclass
class Paired:
    """Per-request times of one paired run (nanoseconds)."""

    bare: list[int] = field(default_factory=list)
    with_smalldata: list[int] = field(default_factory=list)
    personalised: int = 0
    errors: int = 0
    requests: list[Request] = field(default_factory=list)  # what was measured, when kept (interleaved)
    round_p50: list[float] = field(default_factory=list)  # ns: the median overhead (or bare time) of each round

    @property
    def overhead(self) -> list[int]:
        return [w - b for w, b in zip(self.with_smalldata, self.bare, strict=True)]

    def extend(self, other: Paired) -> None:
        """Add another run's requests to this one (the rounds of an interleaved measurement)."""
        self.bare += other.bare
        self.with_smalldata += other.with_smalldata
        self.personalised += other.personalised
        self.errors += other.errors
        self.requests += other.requests


async def paired(
    bare: App, smalldata: App | None, requests: list[Request], *, on_pair: Any = None, start: int = 0
) -> Paired:
    """Send every request to both apps, alternating which goes first.

    Without ``smalldata`` (the reference row that measures S) each request goes to ``bare`` only.
    """
    result = Paired()
    for i, request in enumerate(requests):
        first, second = scope_for(request), scope_for(request)
        if smalldata is None:
            t_bare, r_bare = await call(bare, first)
            result.errors += r_bare.status != 200
            result.bare.append(t_bare)
            continue
        if (i + start) % 2:
            t_bare, r_bare = await call(bare, first)
            t_sd, r_sd = await call(smalldata, second)
        else:
            t_sd, r_sd = await call(smalldata, first)
            t_bare, r_bare = await call(bare, second)
        if r_sd.status != r_bare.status or r_sd.status != 200:
            result.errors += 1
        if b'id="smalldata"' in r_sd.body:
            result.personalised += 1
        remember(request, r_sd.set_cookies, COOKIE)
        result.bare.append(t_bare)
        result.with_smalldata.append(t_sd)
        if on_pair is not None:
            on_pair(t_sd - t_bare)
    return result


class Draws(Protocol):
    """Where a row's requests come from.

    A :class:`~smalldata.tools.bench.traffic.Mix`, or the cold row's new visitors.
    """

    def next(self) -> Request: ...


@dataclass
class Row:
    """One figure of an interleaved measurement: a pair of apps, its own copy of the mix, how much.

    A row without ``smalldata`` times ``bare`` alone: the reference request S.
    """

    bare: App
    smalldata: App | None
    mix: Draws
    count: int
    warmup: int


SETTLE = 20  # unmeasured pairs at the start of each slice: the row's code and data back in the CPU caches


async def interleaved(rows: dict[str, Row], rounds: int) -> dict[str, Paired]:
    """Measure every row in ``rounds`` turns, one slice of each row per turn.

    A shared machine has slow spells of seconds to minutes. Measured one after
    the other, a row that falls into one looks worse than its neighbours; taken
    in turns, every row sees the same mix of fast and slow spells, so the rows
    can be compared with each other (pairing already cancels drift within a pair).
    The order of the rows turns by one place every turn, so no row is always
    first; each slice starts with :data:`SETTLE` unmeasured pairs, and with the
    other rows' queued events written, so their writers do not run in its time.
    The measured requests of each row are kept in its result (``requests``).
    """
    for row in rows.values():
        await paired(row.bare, row.smalldata, [row.mix.next() for _ in range(row.warmup)])
    results = {key: Paired() for key in rows}
    keys = list(rows)
    for turn in range(rounds):
        for key in keys[turn % len(keys) :] + keys[: turn % len(keys)]:
            row = rows[key]
            size = row.count // rounds + (1 if turn < row.count % rounds else 0)
            await _flush_events(rows.values())
            await paired(row.bare, row.smalldata, [row.mix.next() for _ in range(SETTLE)])
            requests = [row.mix.next() for _ in range(size)]
            gc.collect()
            measured = await paired(row.bare, row.smalldata, requests, start=turn)
            measured.requests = requests
            results[key].extend(measured)
            times = sorted(measured.overhead if row.smalldata is not None else measured.bare)
            results[key].round_p50.append(float(times[len(times) // 2]) if times else float("nan"))
    return results


async def _flush_events(rows: Iterable[Row]) -> None:
    for row in rows:
        for app in (row.bare, row.smalldata):
            sink = _event_sink(app) if app is not None else None
            if sink is not None:
                await sink.flush()


def _event_sink(app: App) -> Any:
    """The event sink of the ``SmallData`` inside ``app`` (the middleware chain is walked), if any."""
    from smalldata.middleware import SmallData

    node: Any = getattr(app, "middleware_stack", None) or app
    for _ in range(32):  # a middleware chain, never a cycle; the bound is only a guard
        if isinstance(node, SmallData):
            events = getattr(node.pages, "events", None)
            sink = getattr(events, "sink", None)
            return sink if hasattr(sink, "flush") else None
        node = getattr(node, "app", None)
        if node is None:
            return None
    return None


# -- apps ------------------------------------------------------------------------------------


@asynccontextmanager
async def running(*apps: App) -> AsyncIterator[None]:
    """Start the apps' lifespans and shut them down afterwards, as a server would.

    Shutdown is when the middleware writes pending events and closes its
    connections; without it, background writers outlive the benchmark's loop.
    """
    stops = []
    for app in apps:
        stops.append(await _start(app))
    try:
        yield
    finally:
        for stop in stops:
            await stop()


async def _start(app: App) -> Callable[[], Awaitable[None]]:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup."):
            started.set()

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, receive, send))
    await inbox.put({"type": "lifespan.startup"})
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()  # an app without lifespan support (Django) ends its task instead of starting

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(task, 30)
        except Exception:  # an app without lifespan support, or one that fails to stop: not our figure
            task.cancel()

    return stop


def shop_pair(rules: Path, config: Path) -> tuple[App, App]:
    """The example shop without and with ``SmallData`` (same factory, same settings and rules)."""
    from starlette.middleware import Middleware

    from smalldata.middleware import SmallData
    from smalldata.tools.demo import load_app

    with_smalldata = load_app(rules=rules, config=config)
    bare = load_app(rules=rules, config=config)
    # Starlette builds its middleware stack on the first request, so replacing the entry is enough.
    bare.user_middleware = [Middleware(NoDecision) if m.cls is SmallData else m for m in bare.user_middleware]
    return bare, with_smalldata


class _Nothing:
    """An awaitable that is already done and holds no decision."""

    def __await__(self) -> Any:
        return None
        yield  # a generator: awaiting it returns at once


class NoDecision:
    """What stands in for ``SmallData`` in the bare example shop: its pages ``await request.state.smalldata``
    (the decision, made when first asked for), so the bare shop hands them one that holds nothing."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.nothing = _Nothing()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["smalldata"] = self.nothing
        await self.app(scope, receive, send)


def reference_app(size: int = 20 * 1024) -> App:
    """S: a bare Starlette app serving a ``size``-byte ``HTMLResponse`` on any path, with no middleware."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    page = html_page(size)

    async def endpoint(request: Any) -> HTMLResponse:
        return HTMLResponse(page)

    return Starlette(routes=[Route("/{path:path}", endpoint)])


def page_pair(rules: Path, config: Path, size: int = 20 * 1024) -> tuple[App, App]:
    """A bare page of ``size`` bytes (any path), without and with ``SmallData`` as the shop wires it.

    Both sides have the shop's ``SessionMiddleware`` (logged-in customers and baskets live in the
    session), so the difference is smalldata's own work.
    """
    from starlette.responses import HTMLResponse

    page = html_page(size)

    async def endpoint(request: Any) -> HTMLResponse:
        return HTMLResponse(page)

    return _pair_around(endpoint, rules, config)


def _pair_around(endpoint: Callable[[Any], Awaitable[Any]], rules: Path, config: Path) -> tuple[App, App]:
    """``endpoint`` on every path behind the shop's session middleware, without and with ``SmallData``."""
    from starlette.middleware import Middleware

    from smalldata.middleware import SmallData
    from smalldata.tools.demo import load_app

    load_app  # noqa: B018 - the import puts examples/ on sys.path
    from examples.shop.app import shop_settings

    settings = shop_settings(config)  # the shop's settings, with its product catalogue for recommendations
    return pair_with(endpoint, Middleware(SmallData, rules=rules, settings=settings))


def pair_with(endpoint: Callable[[Any], Awaitable[Any]], middleware: Any) -> tuple[App, App]:
    """``endpoint`` on every path behind the shop's session middleware, without and with ``middleware``."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.routing import Route

    def build(extra: list[Middleware]) -> Starlette:
        stack = [Middleware(SessionMiddleware, secret_key=SECRET, same_site="lax"), *extra]
        return Starlette(routes=[Route("/{path:path}", endpoint)], middleware=stack)

    return build([]), build([middleware])


RENDERED_PRODUCTS = 300  # about 2.5 ms of Jinja2 on the reference machine: a realistic page render
_TEMPLATE = """<!doctype html><html lang=da><head><meta charset=utf-8><title>{{ title }}</title></head><body>
<header><nav>{% for c in categories %}<a href="/category/{{ c }}">{{ c|title }}</a>{% endfor %}</nav></header><main>
{% for p in products %}<article class="card"><a href="/products/{{ p.id }}"><img src="/static/img/{{ p.id }}.svg"
alt="{{ p.name }}"></a><h3>{{ p.name }}</h3><p class="price">{{ "%.2f"|format(p.price) }} kr.</p>
{% if p.tags %}<ul>{% for t in p.tags %}<li>{{ t|upper }}</li>{% endfor %}</ul>{% endif %}
<div data-smalldata-slot="x"></div></article>
{% endfor %}</main><footer><p>&copy; Nordisk Hjem</p></footer></body></html>"""


def rendered_pair(rules: Path, config: Path, products: int = RENDERED_PRODUCTS) -> tuple[App, App]:
    """A page rendered by Jinja2 on every request (~2.5 ms), without and with ``SmallData``.

    What a real shop page costs to serve: the throughput budget is set on it.
    """
    import jinja2
    from starlette.responses import HTMLResponse

    from smalldata.tools.bench.rulegen import CATEGORIES

    template = jinja2.Environment(autoescape=True).from_string(_TEMPLATE)
    items = [{"id": f"p-{n}", "name": f"Product {n}", "price": n * 1.5, "tags": ["new", "eco", "dk"]}
             for n in range(products)]  # fmt: skip

    async def endpoint(request: Any) -> HTMLResponse:
        return HTMLResponse(template.render(title="Nordisk Hjem", categories=CATEGORIES, products=items))

    return _pair_around(endpoint, rules, config)


def html_page(size: int) -> bytes:
    """An HTML page of about ``size`` bytes: markup-dense product cards, ``</body>`` at the end."""
    head = b"<!doctype html><html lang=da><head><meta charset=utf-8><title>Nordisk Hjem</title></head><body>"
    card = (
        b'<article class="card"><a href="/products/mug-hygge"><img src="/static/img/mug-hygge.svg" alt=""></a>'
        b'<h3>Hygge mug, stoneware</h3><p class="price">129 kr.</p><div data-smalldata-slot="x"></div></article>\n'
    )
    tail = b'<footer><p>&copy; Nordisk Hjem</p></footer><script src="/static/shop.js"></script></body></html>'
    cards = max((size - len(head) - len(tail)) // len(card), 0)
    return head + card * cards + tail
