"""Where the time of a personalised page goes: the page personaliser's steps, one at a time.

:class:`PhaseTimer` takes the place of ``SmallData`` in the 100-rule page app (the
same parts, built by :func:`smalldata.app.build` from the same settings and rules,
behind the same session middleware) and runs the steps of
``PagePersonaliser.begin`` and of delivering the page in their order, reading the
clock between them. The response is the bare page: what the middleware adds around
these steps (the response headers, finding ``</body>``) is the difference between
the in-flow overhead row and the sum of the phases.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from smalldata.app import Parts, build
from smalldata.delivery.page import PagePersonaliser
from smalldata.delivery.payload import payload_tag
from smalldata.delivery.visit import Visit, payload_data
from smalldata.signals.request import Request, RequestSignals
from smalldata.tools.bench.inprocess import App, html_page
from smalldata.tools.bench.traffic import SECRET, Mix, remember, scope_for

PHASES = (
    ("objects", "the request and its signals (empty)"),
    ("consent", "consent: Sec-GPC and the consent cookie"),
    ("load", "visitor cookie: parse, verify, decode"),
    ("visit", "count the page view, remember the product"),
    ("signals", "every signal the rules read"),
    ("decide", "the rules: a decision, caps and experiments"),
    ("record", "record the page; write the cookie if changed"),
    ("payload", "the payload: JSON and script tags"),
)
COOKIE = "sd_visitor"


class PhaseTimer:
    """An ASGI middleware doing a page's personalisation step by step, timing each step."""

    def __init__(self, app: App, parts: Parts) -> None:
        self.app = app
        pages = parts.pages
        assert isinstance(pages, PagePersonaliser)
        self.pages = pages
        self.times: dict[str, list[int]] = {name: [] for name, _ in PHASES}
        self.cookies: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        clock = time.perf_counter_ns
        pages = self.pages
        plan = pages.rules.plan
        marks = [clock()]
        request = Request(scope, pages.clock(), zone=pages.zone, sources=pages.sources)
        signals = RequestSignals(request, pages.providers.map)
        marks.append(clock())
        signals["consent.storage"] = signals["consent.personalisation"] = pages.providers.consent.allows(request)
        marks.append(clock())
        state = await pages.load_visitor(request, await pages.user_of(request))
        marks.append(clock())
        pages.count_page(state, request, signals, plan)
        marks.append(clock())
        for name in plan.reads:
            signals[name]  # computing it is the point
        marks.append(clock())
        period = state.period(request.now) if plan.counts_caps else None
        decision = plan.engine.decide(signals, caps=state.caps_at(period) if period else None, visitor_id=state.id)
        marks.append(clock())
        state.apply(decision, period)
        cookies = await pages.store.save(state, secure=False) if state.changed else []
        marks.append(clock())
        payload_tag(payload_data(Visit(decision), "/_smalldata/"))
        marks.append(clock())
        for (name, _), start, end in zip(PHASES, marks[:-1], marks[1:], strict=True):
            self.times[name].append(end - start)
        self.cookies = cookies
        await self.app(scope, receive, send)


async def measure(rules: Path, config: Path, mix: Mix, requests: int, warmup: int, s_ns: float) -> dict[str, Any]:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    """Mean and median of each phase over ``requests`` requests of ``mix`` (after ``warmup``), in µs and S."""
    from examples.shop.app import shop_settings

    page = html_page(20 * 1024)

    async def endpoint(request: Any) -> HTMLResponse:
        return HTMLResponse(page)

    parts = build(rules=rules, settings=shop_settings(config))
    app = Starlette(routes=[Route("/{path:path}", endpoint)],
                    middleware=[Middleware(SessionMiddleware, secret_key=SECRET, same_site="lax"),
                                Middleware(PhaseTimer, parts=parts)])  # fmt: skip
    timer: PhaseTimer | None = None

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        return None

    for n in range(warmup + requests):
        request = mix.next()
        await app(scope_for(request), receive, send)
        if timer is None:
            timer = _find_timer(app)
        remember(request, timer.cookies, COOKIE)
        if n == warmup - 1:
            for values in timer.times.values():
                values.clear()
    await parts.aclose()
    assert timer is not None
    result: dict[str, Any] = {"requests": requests, "labels": dict(PHASES), "mean_us": {}, "p50_us": {}}
    for name, values in timer.times.items():
        values.sort()
        result["mean_us"][name] = round(sum(values) / len(values) / 1000, 2)
        result["p50_us"][name] = round(values[len(values) // 2] / 1000, 2)
    result["mean_s"] = {name: round(us * 1000 / s_ns, 2) for name, us in result["mean_us"].items()}
    result["total_mean_us"] = round(sum(result["mean_us"].values()), 1)
    result["total_mean_s"] = round(result["total_mean_us"] * 1000 / s_ns, 2)
    return result


def _find_timer(app: Any) -> PhaseTimer:
    """The timer inside the app's middleware stack (Starlette builds it on the first request)."""
    layer = app.middleware_stack
    while not isinstance(layer, PhaseTimer):
        layer = layer.app
    return layer
