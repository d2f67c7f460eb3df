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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.traffic import SECRET, Mix, Request, remember, scope_for

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

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.set_cookies = [v.decode("latin-1") for k, v in message["headers"] if k == b"set-cookie"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    start = time.perf_counter_ns()
    await app(scope, receive, send)
    elapsed = time.perf_counter_ns() - start
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
    bare: App, smalldata: App, requests: list[Request], *, on_pair: Any = None, start: int = 0
) -> Paired:
    """Send every request to both apps, alternating which goes first."""
    result = Paired()
    for i, request in enumerate(requests):
        first, second = scope_for(request), scope_for(request)
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


@dataclass
class Row:
    """One figure of an interleaved measurement: a pair of apps, its own copy of the mix, how much."""

    bare: App
    smalldata: App
    mix: Mix
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
    return results


async def _flush_events(rows: Iterable[Row]) -> None:
    for row in rows:
        for app in (row.bare, row.smalldata):
            sink = _event_sink(app)
            if sink is not None:
                await sink.flush()


def _event_sink(app: App) -> Any:
    """The event sink of the ``SmallData`` inside ``app`` (the middleware chain is walked), if any."""
    from smalldata.middleware import SmallData

    node: Any = getattr(app, "middleware_stack", None) or app
    for _ in range(32):  # a middleware chain, never a cycle; the bound is only a guard
        if isinstance(node, SmallData):
            events = getattr(node.personaliser, "events", None)
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
    await asyncio.wait({task, asyncio.create_task(started.wait())}, return_when=asyncio.FIRST_COMPLETED)

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(task, 30)
        except Exception:  # an app without lifespan support, or one that fails to stop: not our figure
            task.cancel()

    return stop


def shop_pair(rules: Path, config: Path) -> tuple[App, App]:
    """The example shop without and with ``SmallData`` (same factory, same settings and rules)."""
    from smalldata.demo import load_app
    from smalldata.middleware import SmallData

    with_smalldata = load_app(rules=rules, config=config)
    bare = load_app(rules=rules, config=config)
    # Starlette builds its middleware stack on the first request, so dropping the entry is enough.
    bare.user_middleware = [m for m in bare.user_middleware if m.cls is not SmallData]
    return bare, with_smalldata


def page_pair(rules: Path, config: Path, size: int) -> tuple[App, App]:
    """A bare page of ``size`` bytes (any path), without and with ``SmallData`` as the shop wires it."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from smalldata.demo import load_app
    from smalldata.middleware import SmallData
    from smalldata.settings import load_settings

    load_app  # noqa: B018 - the import puts examples/ on sys.path
    from examples.shop import app as shop_module
    from examples.shop import catalog as catalog_module

    shop: Any = shop_module
    catalog: Any = catalog_module

    # the shop's settings and recommendations, however this version of the example wires them
    settings = shop.shop_settings(config) if hasattr(shop, "shop_settings") else load_settings(config)
    options: dict[str, Any] = {}
    if hasattr(catalog, "CatalogRecommender"):
        options["recommender"] = catalog.CatalogRecommender(catalog.Catalog())
    page = html_page(size)

    async def endpoint(request: Any) -> HTMLResponse:
        return HTMLResponse(page)

    def build(personalised: bool) -> Starlette:
        middleware = [Middleware(SessionMiddleware, secret_key=SECRET, same_site="lax")]
        if personalised:
            middleware.append(Middleware(SmallData, rules=rules, settings=settings, **options))
        return Starlette(routes=[Route("/{path:path}", endpoint)], middleware=middleware)

    return build(False), build(True)


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


# -- phases ----------------------------------------------------------------------------------


@dataclass
class PhaseClock:
    """Nanoseconds per phase for the current request (see :func:`instrumented`)."""

    totals: dict[str, int] = field(default_factory=dict)
    in_decide: bool = False

    def add(self, phase: str, ns: int) -> None:
        self.totals[phase] = self.totals.get(phase, 0) + ns


@contextmanager
def instrumented() -> Iterator[PhaseClock]:
    """Time the pipeline's parts by wrapping them for the duration of the block.

    Only for the separate phase pass: the paired overhead figures are measured
    without any of this. Signals = building the request context, prefetching
    and every namespace provider; engine = ``Engine.decide`` minus the providers
    it triggered; state = loading, counting and saving the visitor cookie;
    recommendations = filling recommendation slots; delivery (computed by the
    caller) = the rest of the overhead: headers, payload and HTML injection.
    """
    from smalldata.delivery import pipeline
    from smalldata.rules.engine import Engine
    from smalldata.signals import request as request_module
    from smalldata.signals.request import RequestSignals
    from smalldata.state.stores import CookieStore

    clock = PhaseClock()
    personaliser = pipeline.RulesPersonaliser
    targets: list[tuple[Any, str]] = [
        (pipeline, "signals_for"), _providers_hook(request_module), (RequestSignals, "prefetch"), (Engine, "decide"),
        (personaliser, "begin"), (personaliser, "_recommend"), (CookieStore, "save"),
    ]  # fmt: skip
    # a part the pipeline no longer has is left out (its time then shows up in a neighbouring phase)
    saved: dict[tuple[Any, str], Any] = {target: getattr(*target) for target in targets if hasattr(*target)}

    def sync(phase: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter_ns()
            try:
                return fn(*args, **kwargs)
            finally:
                clock.add(phase, time.perf_counter_ns() - start)

        return wrapper

    def asynchronous(phase: str, fn: Any) -> Any:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter_ns()
            try:
                return await fn(*args, **kwargs)
            finally:
                clock.add(phase, time.perf_counter_ns() - start)

        return wrapper

    def compute(self: Any, namespace: str) -> Any:
        start = time.perf_counter_ns()
        try:
            return saved[_providers_hook(request_module)](self, namespace)
        finally:
            ns = time.perf_counter_ns() - start
            clock.add("providers", ns)
            clock.add("providers:" + namespace, ns)
            if clock.in_decide:
                clock.add("providers_in_decide", ns)

    def decide(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        clock.in_decide = True
        try:
            return saved[(Engine, "decide")](self, *args, **kwargs)
        finally:
            clock.in_decide = False
            clock.add("decide", time.perf_counter_ns() - start)

    wrappers: dict[tuple[Any, str], Any] = {
        (pipeline, "signals_for"): lambda fn: sync("context", fn),
        _providers_hook(request_module): lambda fn: compute,
        (RequestSignals, "prefetch"): lambda fn: asynchronous("prefetch", fn),
        (Engine, "decide"): lambda fn: decide,
        (personaliser, "begin"): lambda fn: asynchronous("begin", fn),
        (personaliser, "_recommend"): lambda fn: asynchronous("recommend", fn),
        (CookieStore, "save"): lambda fn: asynchronous("save", fn),
    }
    for target, original in saved.items():
        setattr(target[0], target[1], wrappers[target](original))
    try:
        yield clock
    finally:
        for (owner, name), original in saved.items():
            setattr(owner, name, original)


def _providers_hook(request_module: Any) -> tuple[Any, str]:
    """Where a namespace's provider is run: a module function, or (older) a RequestSignals method."""
    if hasattr(request_module, "compute_namespace"):
        return request_module, "compute_namespace"
    return request_module.RequestSignals, "_compute"


def split(totals: dict[str, int], overhead: int) -> dict[str, int]:
    """One request's overhead in phases (they add up to ``overhead``)."""
    get = totals.get
    signals = get("context", 0) + get("prefetch", 0) + get("providers", 0)
    engine = get("decide", 0) - get("providers_in_decide", 0)
    recommend = get("recommend", 0)
    outside = get("providers", 0) - get("providers_in_decide", 0)
    state = get("begin", 0) - get("context", 0) - get("prefetch", 0) - outside - get("decide", 0) - recommend
    state += get("save", 0)
    delivery = overhead - get("begin", 0) - get("save", 0)
    return {"signals": signals, "engine": engine, "state": state, "recommendations": recommend, "delivery": delivery}


async def phase_pass(bare: App, smalldata: App, mix: Mix, count: int) -> dict[str, Any]:
    """Where the overhead goes: mean nanoseconds per phase and per signal namespace."""
    sums: dict[str, int] = {}
    namespaces: dict[str, int] = {}
    with instrumented() as clock:

        def on_pair(overhead: int) -> None:
            for phase, ns in split(clock.totals, overhead).items():
                sums[phase] = sums.get(phase, 0) + ns
            for key, ns in clock.totals.items():
                if key.startswith("providers:"):
                    namespaces[key[10:]] = namespaces.get(key[10:], 0) + ns
            clock.totals.clear()

        requests = [mix.next() for _ in range(count)]
        clock.totals.clear()
        # the pair hook runs after both calls of a request, so the totals are this request's only
        await _paired_with_reset(bare, smalldata, requests, clock, on_pair)
    total = sum(sums.values()) or 1
    return {
        "mean_us": {phase: round(ns / count / 1000, 2) for phase, ns in sums.items()},
        "share": {phase: round(ns / total, 3) for phase, ns in sums.items()},
        "signals_by_namespace_us": {
            ns: round(value / count / 1000, 2) for ns, value in sorted(namespaces.items(), key=lambda kv: -kv[1])
        },
    }


async def _paired_with_reset(bare: App, smalldata: App, requests: list[Request], clock: PhaseClock, hook: Any) -> None:
    for i, request in enumerate(requests):
        clock.totals.clear()
        await paired(bare, smalldata, [request], on_pair=hook, start=i)
