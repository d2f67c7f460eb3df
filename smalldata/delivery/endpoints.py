"""The ``/_smalldata/*`` endpoints: the client script, decisions, events and health.

- ``GET client.js`` — the client, versioned by a hash of its bytes: with
  ``?v=<version>`` it is cacheable for a year, otherwise revalidated by ETag.
- ``GET decide?path=/some/page`` — the decision for that path as JSON, for SPAs
  and for "deferred" pages that a CDN may cache. Never cached.
- ``POST events`` — chat shown/accepted/dismissed from the client (and conversions, when
  ``browser_conversions`` is on; else 403). Bodies over ``max_event_bytes`` get 413,
  malformed ones 400, a visitor sending too many 429; each with a JSON ``{"error": …}``.
- ``POST conversions`` — an order from the shop's own order service, with
  ``Authorization: Bearer <events.server_token>`` (404 while no token is set, 401 without it).
- ``GET health`` — ``{"status": "ok" | "degraded"}`` for anyone (a load balancer's check);
  the ruleset version, load errors, paths and counters only for a request carrying
  ``Authorization: Bearer <health.token>``, or made on this host and forwarded by no proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from smalldata.delivery.headers import NO_STORE, ResponseHeaders, append_cookies, make_private
from smalldata.delivery.ratelimit import RateLimiter
from smalldata.delivery.visit import ClientEvent, ClientEvents, Health, Pages, ServerConversion, payload_data
from smalldata.foundation.asgi import lower_case_headers

logger = logging.getLogger("smalldata")

CLIENT_JS: bytes = files("smalldata.delivery").joinpath("static/client.js").read_bytes()
CLIENT_VERSION = hashlib.sha256(CLIENT_JS).hexdigest()[:12]


class TooLarge(Exception):
    """The request body is over the limit."""


@dataclass(frozen=True)
class EventLimits:
    """How many client events are taken, from whom, and how large a conversion may be.

    Each visitor (by their signed cookie, else by their address, kept only in memory) gets
    ``burst`` events and ``per_visitor`` a second after that, and at most ``conversions_burst``
    conversions and one more every ``conversion_seconds``; all visitors together ``per_second``
    (bursts of ``total_burst``), in two buckets: one for established visitors (a cookie first
    seen a while ago), one for everyone else, so a flood of freshly minted cookies cannot use up
    the events of real shoppers. A conversion worth more than ``max_value`` is refused.
    ``browser_conversions`` takes conversions from browsers; ``server_token`` opens ``POST conversions``.
    """

    per_visitor: float = 1.0
    burst: int = 20
    conversions_burst: int = 5
    conversion_seconds: float = 60.0
    per_second: float = 100.0
    total_burst: int = 500
    max_value: float = 1_000_000
    browser_conversions: bool = False
    server_token: str | None = None


class Endpoints:
    """Serves every path under ``prefix``; unknown ones get a JSON 404."""

    def __init__(
        self,
        pages: Pages,
        events: ClientEvents,
        health: Health,
        *,
        prefix: str,
        counters: Counter[str],
        max_event_bytes: int = 4096,
        limits: EventLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        health_token: str | None = None,
    ) -> None:
        self.pages = pages
        self.client_events = events
        self.shop_health = health
        self.prefix = prefix
        self.counters = counters
        self.max_event_bytes = max_event_bytes
        self.limits = limits = limits or EventLimits()
        self.limiter = RateLimiter(rate=limits.per_visitor, burst=limits.burst, clock=clock)
        self.conversions = RateLimiter(rate=1 / limits.conversion_seconds, burst=limits.conversions_burst, clock=clock)
        self.total = RateLimiter(rate=limits.per_second, burst=limits.total_burst, max_keys=1, clock=clock)
        self.total_new = RateLimiter(rate=limits.per_second, burst=limits.total_burst, max_keys=1, clock=clock)
        self.server_token = limits.server_token.encode() if limits.server_token else None
        self.health_token = health_token.encode() if health_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(lower_case_headers(scope), receive)  # Starlette's Request expects lower-case names
        name = scope["path"][len(self.prefix) :]
        method = request.method
        response: Response
        if name == "client.js" and method in ("GET", "HEAD"):
            response = self.client_js(request)
        elif name == "decide" and method == "GET":
            response = await self.decide(request)
        elif name == "events" and method == "POST":
            response = await self.events(request)
        elif name == "health" and method in ("GET", "HEAD"):
            response = await self.health(request)
        elif name == "conversions" and method == "POST" and self.server_token is not None:
            response = await self.server_conversions(request)
        elif name in ("client.js", "decide", "events", "health"):
            response = _error(405, "method not allowed")
        else:
            response = _error(404, "not found")
        await response(scope, receive, send)

    def client_js(self, request: Request) -> Response:
        etag = f'"{CLIENT_VERSION}"'
        versioned = request.query_params.get("v") == CLIENT_VERSION
        headers = {
            "ETag": etag,
            "Cache-Control": "public, max-age=31536000, immutable" if versioned else "public, no-cache",
        }
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(CLIENT_JS, media_type="text/javascript; charset=utf-8", headers=headers)

    async def decide(self, request: Request) -> Response:
        path = request.query_params.get("path", "/")
        if not path.startswith("/") or path.startswith("//") or len(path) > 2000:
            return _error(400, "'path' must be a path on this site, such as /pricing")
        try:
            visit = await self.pages.begin(request.scope, path=path)
            if visit is None:
                return JSONResponse({"decision": None}, headers={"Cache-Control": NO_STORE})
            response = JSONResponse(payload_data(visit, self.prefix), headers={"Cache-Control": NO_STORE})
            headers = ResponseHeaders({"headers": response.raw_headers})
            append_cookies(headers, await visit.deliver(page=True))
        except Exception:  # fail-open, as for pages: the client shows the page as it is
            self.counters["errors"] += 1
            logger.exception("smalldata: deciding for %s failed; answering without a decision", path)
            return JSONResponse({"decision": None}, headers={"Cache-Control": NO_STORE})
        response.raw_headers = headers.raw
        self.counters["decide"] += 1
        return response

    async def events(self, request: Request) -> Response:
        try:
            body = await _read_limited(request, self.max_event_bytes)
        except TooLarge:
            return self._reject(413, f"an event must be at most {self.max_event_bytes} bytes")
        except ClientDisconnect:
            return Response(status_code=400)
        try:
            event = ClientEvent.model_validate(json.loads(body))
        except (ValueError, ValidationError, RecursionError) as exc:  # 4 KB of "[" nests too deep to parse
            return self._reject(400, _explain(exc))
        if event.type == "conversion" and not self.limits.browser_conversions:
            return self._reject(403, "conversions are recorded by the shop's server (record_conversion); "
                                     "events: browser_conversions: true takes them from browsers")
        if event.value is not None and event.value > self.limits.max_value:
            return self._reject(400, f"value: a conversion is at most {self.limits.max_value:g}")
        key = self.client_events.visitor_key(request.scope) or "anonymous"
        if not self.limiter.allow(key) or (event.type == "conversion" and not self.conversions.allow(key)):
            return self._reject(429, "too many events; slow down")
        total = self.total if self.client_events.established(request.scope) else self.total_new
        if not total.allow("*"):
            return self._reject(429, "too many events from everyone; try again shortly")
        cookies = await self.client_events.record(request.scope, event)
        self.counters[f"events.{event.type}"] += 1
        response = Response(status_code=204, headers={"Cache-Control": NO_STORE})
        headers = ResponseHeaders({"headers": response.raw_headers})
        append_cookies(headers, cookies)
        make_private(headers)
        response.raw_headers = headers.raw
        return response

    async def server_conversions(self, request: Request) -> Response:
        """An order from the shop's order service: ``{"order_id", "value", "currency", "visitor" or "cookie"}``;
        answers ``{"recorded": true}``, or ``false`` for an order id recorded already."""
        assert self.server_token is not None
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.server_token):
            self.counters["conversions.rejected.401"] += 1
            response = _error(401, "a bearer token (events.server_token) is required")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        try:
            body = await _read_limited(request, self.max_event_bytes)
            order = ServerConversion.model_validate(json.loads(body))
        except TooLarge:
            return self._reject(413, f"an order must be at most {self.max_event_bytes} bytes")
        except ClientDisconnect:
            return Response(status_code=400)
        except (ValueError, ValidationError, RecursionError) as exc:
            return self._reject(400, _explain(exc))
        if order.value is not None and order.value > self.limits.max_value:
            return self._reject(400, f"value: a conversion is at most {self.limits.max_value:g}")
        recorded = await self.client_events.server_conversion(None, order)
        self.counters["conversions.server" if recorded else "conversions.duplicate"] += 1
        return JSONResponse({"recorded": recorded}, headers={"Cache-Control": NO_STORE})

    async def health(self, request: Request) -> Response:
        data: dict[str, Any] = dict(await self.shop_health.report())
        data.setdefault("status", "ok")
        if not self._may_see_details(request):
            return JSONResponse({"status": data["status"]}, headers={"Cache-Control": "no-store"})
        data["counters"] = dict(sorted(self.counters.items()))
        data["client_version"] = CLIENT_VERSION
        return JSONResponse(data, headers={"Cache-Control": "no-store"})

    def _may_see_details(self, request: Request) -> bool:
        """The token, or a request from this host that no proxy forwarded (a proxy here would make everyone local)."""
        headers = request.headers
        if self.health_token is not None:
            scheme, _, given = headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.health_token):
                return True
        client = request.scope.get("client")
        peer = client[0] if client else None
        if peer not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            return False
        return not any(name in headers for name in ("forwarded", "x-forwarded-for", "x-real-ip"))

    def _reject(self, status: int, message: str) -> Response:
        self.counters[f"events.rejected.{status}"] += 1
        return _error(status, message)


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    # ASCII digits only ("²".isdigit() is true), and a length longer than the limit's digits is over it
    # without asking int() (which refuses 4,300 digits and more)
    if declared.isascii() and declared.isdigit() and (len(declared) > len(str(limit)) or int(declared) > limit):
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


def _explain(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "the body nests too deeply to be an event"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return "the body must be a JSON object"


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": NO_STORE})
