"""``SmallData``: the pure ASGI middleware that personalises a shop's pages.

It is thin wiring. Per HTTP request it puts a lazy decision at
``scope["state"]["smalldata"]`` (``request.state.smalldata``, see
:mod:`smalldata.delivery.lazy`) and calls the app. The page personaliser
(signals → rules → decision) runs when the app asks for the decision or when an
HTML page starts going out, whichever is first, and never for a response that is
no page and whose decision nobody asked for (an image, JSON, a redirect). On the
way out it inserts the payload into HTML pages, marks them private and adds the
visitor cookie when the visitor's state changed.

Fail-open: any exception inside smalldata is logged with the request path and the
app's response goes out unchanged; exceptions raised by the app itself propagate
exactly as they would without the middleware.

Order: best *before* ``GZipMiddleware`` (so it runs inside it and sees plain
pages). A compression middleware inside it works too (Django's usual order):
gzip and deflate pages are rewritten within a bound (:mod:`smalldata.delivery.compressed`)::

    app.add_middleware(SmallData, rules="rules/")
    app.add_middleware(GZipMiddleware)
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smalldata.decision import Decision
from smalldata.delivery.endpoints import CLIENT_VERSION, Endpoints
from smalldata.delivery.headers import ResponseHeaders, add_vary, append_cookies, make_private, make_uncacheable
from smalldata.delivery.inject import HtmlInjector, is_html
from smalldata.delivery.lazy import LazyDecision
from smalldata.delivery.payload import PAGE_KEY, client_tag, csp_nonce, payload_tag, utf8_page
from smalldata.delivery.visit import Visit, payload_data
from smalldata.settings import Settings

if TYPE_CHECKING:
    from smalldata.app import Overrides, Parts

logger = logging.getLogger("smalldata")

# Paths that are never pages: no decision is computed for them.
DEFAULT_SKIP = ("/static/", "/favicon.ico", "/robots.txt")


class SmallData:
    """Personalise an ASGI app's pages with rules from ``rules``::

        app = SmallData(app, rules="rules/", config="smalldata.yaml")

    What to personalise with, in one place: ``rules`` is the folder of YAML rule
    files and ``config`` the settings file (``settings`` may be given instead;
    relative paths in them start at the folder of ``config``, else the working
    directory). The rules and the product catalogue (``catalogue.path``) are loaded
    here, at start-up, and a broken folder or file raises
    :class:`~smalldata.foundation.problems.ProblemsError`; later edits are picked up on the fly
    (a broken edit keeps the last good rules and is shown by ``{prefix}health``).

    How to serve: ``prefix`` is where smalldata's own endpoints live; ``deferred=True``
    is for pages a CDN caches (they get only the client script tag, identical for
    everyone, and the client fetches ``{prefix}decide``); paths starting with one of
    ``skip`` are never pages.

    ``overrides`` (:class:`~smalldata.app.Overrides`) bring your own clock, visitor
    store, recommender or event sink instead of those the settings would build. To
    serve with parts you built yourself (one set shared by two apps, or fakes in
    tests), use :meth:`from_parts` instead.

    A link made by ``smalldata preview`` shows the page as its imagined visitor
    would see it (signal overrides, a moment, forced variants); such responses
    are ``private, no-store`` and change nothing in the visitor's state.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        rules: str | Path | None = None,
        config: str | Path | None = None,
        settings: Settings | None = None,
        prefix: str = "/_smalldata/",
        deferred: bool = False,
        skip: tuple[str, ...] = DEFAULT_SKIP,
        overrides: Overrides | None = None,
    ) -> None:
        from smalldata.app import build

        parts = build(rules=rules, config=config, settings=settings, overrides=overrides)
        self._serve(app, parts, prefix=prefix, deferred=deferred, skip=skip)

    @classmethod
    def from_parts(cls, app: ASGIApp, parts: Parts, *, prefix: str = "/_smalldata/", deferred: bool = False,
                   skip: tuple[str, ...] = DEFAULT_SKIP) -> SmallData:
        """Serve ``app`` with ``parts`` built by you (:func:`smalldata.app.build` makes them from settings).

        Nothing is loaded here: the parts decide for pages, take client events and report health.
        ``prefix``, ``deferred`` and ``skip`` are as for the constructor.
        """
        middleware = cls.__new__(cls)
        middleware._serve(app, parts, prefix=prefix, deferred=deferred, skip=skip)
        return middleware

    def _serve(self, app: ASGIApp, parts: Parts, *, prefix: str, deferred: bool, skip: tuple[str, ...]) -> None:
        self.app = app
        self.prefix = "/" + prefix.strip("/") + "/"
        self.deferred = deferred
        self.skip = skip
        self.parts = parts
        self.pages = parts.pages
        self.counters = parts.counters
        self.endpoints = Endpoints(parts.pages, parts.events, parts.health, prefix=self.prefix, counters=self.counters,
                                   limits=parts.event_limits, health_token=parts.health_token)  # fmt: skip
        script_src = f"{self.prefix}client.js?v={CLIENT_VERSION}"
        self.out = _Outgoing(parts.pages.begin, self.counters, self.prefix, script_src)
        self.deferred_hooks = _DeferredHooks(self.out)  # the same for every page
        # The loop serving requests, remembered: asyncio.get_running_loop() on every page costs more than this check.
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(self.prefix):
            await self.endpoints(scope, receive, send)
            return
        if path.startswith(self.skip):
            await self.app(scope, receive, send)
            return
        if self.deferred:
            await self.app(scope, receive, HtmlInjector(send, scope["method"], self.deferred_hooks))
            return
        self.counters["requests"] += 1
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        loop = self.loop
        if loop is None or loop.is_closed():  # one loop serves every request (a server runs one per process)
            loop = self.loop = asyncio.get_running_loop()  # a page's worker thread reads its decision on this loop
        hooks = _PageHooks(self.out, scope, path, state, loop)  # decided when asked
        state["smalldata"] = state[PAGE_KEY] = hooks
        await self.app(scope, receive, HtmlInjector(send, scope["method"], hooks))

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open HTTP clients when the server starts; close connections and write pending events when it stops.

        An app that does not speak the lifespan protocol (Django's ASGI handler raises at once, before
        reading a message) gets it spoken for it, so smalldata still starts and stops with the server.
        """
        received = False

        async def wrapped() -> Message:
            nonlocal received
            received = True
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.parts.start()
            elif message["type"] == "lifespan.shutdown":
                await self.parts.aclose()
            return message

        try:
            await self.app(scope, wrapped, send)
        except Exception:
            if received:
                raise  # the app's own start-up or shutdown failed: the server must hear of it
        else:
            return
        while True:
            message = await wrapped()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


class _Outgoing:
    """What a page's hooks need of the middleware, built once: how to decide, where errors are
    counted, and the client's address and tag. Nothing above it (the middleware, the parts)."""

    __slots__ = ("begin", "client_tag", "counters", "prefix", "script_src")

    def __init__(self, begin: Callable[[Scope], Awaitable[Visit | None]], counters: Counter[str], prefix: str,
                 script_src: str) -> None:
        self.begin = begin
        self.counters = counters
        self.prefix = prefix
        self.script_src = script_src
        self.client_tag = client_tag(script_src).encode()  # the tag of every page without a CSP nonce


class _PageHooks(LazyDecision):
    """One request's decision, made once when first needed, and its headers and markup.

    The decision is made when the app asks for it (:class:`~smalldata.delivery.lazy.LazyDecision`)
    or when a page starts going out, whichever comes first; a response that is not a page and
    whose decision nobody asked for is left alone. Every failure is contained here. It is
    ``request.state.smalldata``, and what a template finds at ``request.state`` to render the
    payload itself (:meth:`render_payload`, used by the Jinja helper): then none is injected.
    """

    __slots__ = ("deciding", "loop", "out", "path", "rendered", "scope", "state", "visit", "waiter")

    def __init__(self, out: _Outgoing, scope: Scope, path: str, state: dict[str, Any],
                 loop: asyncio.AbstractEventLoop) -> None:
        self.out = out
        self.scope = scope
        self.path = path
        self.state = state  # the request's state, where an app may put its CSP nonce
        self.loop = loop
        self.rendered = False
        self.visit: Visit | Literal[False] | None = False  # False: not decided yet
        self.deciding = False
        self.waiter: asyncio.Future[Visit | None] | None = None  # made only when a second reader must wait

    def settled(self) -> Decision | Literal[False] | None:
        visit = self.visit
        return visit if visit is None or visit is False else visit.decision

    async def decision(self) -> Decision | None:
        visit = await self.resolve()
        return None if visit is None else visit.decision

    async def resolve(self) -> Visit | None:
        """This request's visit: decided now unless it was already (or is being, by another reader)."""
        visit = self.visit
        if visit is not False:
            return visit
        if self.deciding:
            if self.waiter is None:
                self.waiter = self.loop.create_future()
            return await asyncio.shield(self.waiter)
        return await self._decide()

    async def _decide(self) -> Visit | None:
        self.deciding = True
        try:
            visit = await self.out.begin(self.scope)
        except Exception:
            self.out.counters["errors"] += 1
            logger.exception("smalldata: personalisation failed for %s; serving the page unchanged", self.path)
            visit = None
        except BaseException:  # cancelled: a later reader tries again
            self.deciding = False
            if self.waiter is not None:
                self.waiter.cancel()
                self.waiter = None
            raise
        self.visit = visit
        if self.waiter is not None:
            self.waiter.set_result(visit)
        return visit

    async def start(self, headers: ResponseHeaders, *, page: bool) -> None:
        visit = self.visit
        if visit is False:
            if not page:
                return  # not a page, and nobody asked for its decision: nothing to decide
            visit = await (self.resolve() if self.deciding else self._decide())
        if visit is None:
            return
        cookies: list[str] = []
        try:
            cookies = await visit.deliver(page=page)
        except Exception:
            self._failed("recording the visit")
        try:
            # Never storable by a shared cache: an HTML response to a request with something decided (the
            # app may have rendered it, on a 404 as on a page), and a page decided from the visitor's own
            # state even when nothing matched (stored for them, it is wrong for a visitor it would greet).
            if cookies or (page and visit.personal) or (not visit.decision.empty and (page or is_html(headers))):
                make_private(headers)
                session = self.scope.get("session")
                add_vary(headers, visit.vary if _session_varies_on_cookie(session) else ("Cookie", *visit.vary))
            if visit.no_store:
                make_uncacheable(headers)
            if cookies:
                append_cookies(headers, cookies)
        except Exception:
            self.rendered = True  # a page we could not mark private gets no payload
            self._failed("marking the response private")

    def markup(self, headers: ResponseHeaders) -> bytes:
        visit, out = self.visit, self.out
        if self.rendered or visit is None or visit is False:
            return b""  # the page carries the payload already, or has no decision
        exposures = visit.reported_exposures
        if not (visit.decision.slot_rules or exposures):
            return b""  # nothing for the client to do (tags alone stay on the server)
        try:
            nonce = csp_nonce(headers) or _state_nonce(self.state)
            data = payload_data(visit, out.prefix, exposures)
            tag = out.client_tag if nonce is None else client_tag(out.script_src, nonce).encode()
            # a page not declared UTF-8 gets an ASCII payload: its bytes read the same in any such charset
            # A lone surrogate (from a hostile path) can only stand inside a JSON string, where backslashreplace
            # writes it as the JSON escape "\udcff": the payload stays valid and the page is served.
            html = payload_tag(data, nonce, ascii_only=not utf8_page(headers)).encode("utf-8", "backslashreplace") + tag
        except Exception:
            self._failed("building the payload")
            return b""
        out.counters["injected"] += 1
        return html

    def render_payload(self, nonce: str | None = None) -> str:
        """The payload and client script tags for a template to place itself (then none is injected).

        Empty while the request is not decided yet (a sync template on the event loop): the page then
        gets its payload injected when it goes out.
        """
        visit = self.visit
        if visit is None or visit is False:
            return ""
        self.rendered = True
        data = payload_data(visit, self.out.prefix, visit.decision.exposures)
        return payload_tag(data, nonce) + client_tag(self.out.script_src, nonce)

    def _failed(self, what: str) -> None:
        self.out.counters["errors"] += 1
        logger.exception("smalldata: %s failed for %s; serving the page unchanged", what, self.path)


def _session_varies_on_cookie(session: Any) -> bool:
    """Will the session middleware around us add ``Vary: Cookie`` itself?

    Starlette's ``SessionMiddleware`` (outside ours, since the user signals read
    ``request.session``) appends ``Cookie`` to ``Vary`` after we have set it,
    without looking for one already there, whenever the session was read. We
    cannot edit a header added later, so we leave our ``Cookie`` out when the
    session says it was read: the response still varies on it exactly once.
    A session without that flag (plain dict, other frameworks) gets ours.
    """
    return getattr(session, "accessed", False) is True


def _state_nonce(state: dict[str, Any]) -> str | None:
    """A nonce the app left in ``request.state.csp_nonce`` (when its CSP header is set elsewhere)."""
    nonce = state.get("csp_nonce")
    return nonce if isinstance(nonce, str) and nonce else None


class _DeferredHooks:
    """Deferred mode: the same script tag on every page, no headers changed."""

    __slots__ = ("out",)

    def __init__(self, out: _Outgoing) -> None:
        self.out = out

    async def start(self, headers: ResponseHeaders, *, page: bool) -> None:
        return None

    def markup(self, headers: ResponseHeaders) -> bytes:
        nonce = csp_nonce(headers)
        return self.out.client_tag if nonce is None else client_tag(self.out.script_src, nonce).encode()
