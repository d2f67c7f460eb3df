"""Client events (``POST /_smalldata/events``) and the orders the shop's server reports.

Conversions come from the shop's server, where the order is known: ``record_conversion``
(:mod:`smalldata.conversions`) from the order-confirmation handler, or ``POST
/_smalldata/conversions`` with a bearer token from a separate order service. Each order id
is recorded once across every worker (in Redis with a server store, else in this
process's memory). Browser-posted conversions are an opt-in (``events:
browser_conversions: true``) recorded as ``source: browser``, once per order id and
visitor: a browser can never stop or replace an order the server records.

Every event goes to the event log. A dismissed chat invitation is also counted in
the visitor's state, so the engine leaves that invitation out for the rest of the
day. Without storage consent (``Sec-GPC: 1`` or the consent cookie says no), the
visitor's cookie is neither read nor written and their events carry no visitor id.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo

from starlette.types import Scope

from smalldata.delivery.visit import ClientEvent, ServerConversion
from smalldata.events import EventLog
from smalldata.rules.engine import DISMISSED_PREFIX
from smalldata.signals.client import ClientAddress
from smalldata.signals.consent import Consent
from smalldata.signals.request import Request
from smalldata.state import StateStore

logger = logging.getLogger("smalldata")

#: How long an order id is remembered as recorded (a receipt page reloaded weeks later is no new sale).
ORDER_SECONDS = 30 * 86_400


class EventRecorder:
    """Implements :class:`~smalldata.delivery.visit.ClientEvents` with the event log and the visitor store.

    ``established_seconds``: a cookie first seen at least this long ago is an established
    visitor's (rate limits keep a bucket for them that freshly minted cookies cannot drain).
    The recorder built last in this process is :attr:`latest` (``record_conversion`` uses it).
    """

    latest: ClassVar[EventRecorder | None] = None

    def __init__(self, store: StateStore, consent: Consent, events: EventLog, *, clock: Callable[[], datetime],
                 zone: ZoneInfo, client: ClientAddress | None = None, cookie: str = "sd_visitor",
                 established_seconds: int = 1800) -> None:
        self.client = client
        self.store = store
        self.consent = consent
        self.events = events
        self.clock = clock
        self.zone = zone
        self.cookie = cookie
        self.established_seconds = established_seconds
        EventRecorder.latest = self

    async def record(self, scope: Scope, event: ClientEvent) -> list[str]:
        """Log ``event``; a dismissed chat is also remembered for the day. Returns ``Set-Cookie`` values."""
        request = Request(scope, self.clock(), zone=self.zone)
        storage = self.consent.allows(request)
        visitor_id = self.store.visitor_id(request.cookies) if storage else None
        try:
            if event.type == "conversion":
                first = await self._first("browser", event.order_id, visitor_id)
                self.events.conversion(visitor_id=visitor_id, value=event.value, currency=event.currency,
                                       order_id=event.order_id, path=event.path, source="browser", first=first)
            else:
                self.events.client_event(event, visitor_id=visitor_id)
        except Exception:
            logger.exception("smalldata: logging a %s event failed", event.type)
        if event.type != "chat_dismissed" or event.rule is None or not storage:
            return []
        state = await self.store.load(request.cookies, now=request.now)
        if state.is_new:
            return []
        state.hit(DISMISSED_PREFIX + event.rule, state.period(request.now))
        return await self.store.save(state, secure=scope.get("scheme") == "https")

    async def server_conversion(self, scope: Scope | None, order: ServerConversion) -> bool:
        """Record an order the shop's server reports (``source: server``), once per order id across
        every worker; the visitor from ``order`` (id or cookie) or the request's cookie (with consent)."""
        visitor_id = order.visitor
        if visitor_id is None and order.cookie is not None:
            visitor_id = self.store.visitor_id({self.cookie: order.cookie})
        if visitor_id is None and scope is not None:
            request = Request(scope, self.clock(), zone=self.zone)
            visitor_id = self.store.visitor_id(request.cookies) if self.consent.allows(request) else None
        path = order.path if order.path is not None or scope is None else scope.get("path")
        first = await self._first("server", order.order_id, None)
        written = self.events.conversion(visitor_id=visitor_id, value=order.value, currency=order.currency,
                                         order_id=order.order_id, path=path, source="server", first=first)
        if not written:
            logger.info("smalldata: order %r was recorded already", order.order_id[:40])
        return written

    def established(self, scope: Scope) -> bool:
        request = Request(scope, self.clock())
        first = self.store.first_seen(request.cookies)
        return first is not None and request.epoch - first >= self.established_seconds

    async def _first(self, source: Literal["server", "browser"], order_id: str | None,
                     visitor_id: str | None) -> bool | None:
        """Whether the order is new as every worker sees it (``None``: no shared store; the log's memory decides)."""
        if order_id is None:
            return None
        name = f"{source}\0{order_id}\0{visitor_id or ''}" if source == "browser" else f"{source}\0{order_id}"
        digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        return await self.store.once("order:" + digest, ORDER_SECONDS)

    def visitor_key(self, scope: Scope) -> str | None:
        """Whom to count an event against (rate limits, in memory only): the visitor id in a valid
        cookie, else the client's address (after trusted proxies), so that one cookie-less client
        flooding the endpoint does not use up every other cookie-less client's events."""
        request = Request(scope, self.clock())
        visitor_id = self.store.visitor_id(request.cookies)
        if visitor_id is not None:
            return visitor_id
        address = self.client(request) if self.client is not None else None
        return f"address:{address}" if address else None
