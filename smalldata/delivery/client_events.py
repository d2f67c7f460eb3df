"""Client events (``POST /_smalldata/events``): chat shown, accepted and dismissed, and conversions.

Every event goes to the event log. A dismissed chat invitation is also counted in
the visitor's state, so the engine leaves that invitation out for the rest of the
day. Without storage consent (``Sec-GPC: 1`` or the consent cookie says no), the
visitor's cookie is neither read nor written and their events carry no visitor id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.types import Scope

from smalldata.delivery.visit import ClientEvent
from smalldata.events import EventLog
from smalldata.rules.engine import DISMISSED_PREFIX
from smalldata.signals.client import ClientAddress
from smalldata.signals.consent import Consent
from smalldata.signals.request import Request
from smalldata.state import StateStore

logger = logging.getLogger("smalldata")


class EventRecorder:
    """Implements :class:`~smalldata.delivery.visit.ClientEvents` with the event log and the visitor store."""

    def __init__(self, store: StateStore, consent: Consent, events: EventLog, *, clock: Callable[[], datetime],
                 zone: ZoneInfo, client: ClientAddress | None = None) -> None:
        self.client = client
        self.store = store
        self.consent = consent
        self.events = events
        self.clock = clock
        self.zone = zone

    async def record(self, scope: Scope, event: ClientEvent) -> list[str]:
        """Log ``event``; a dismissed chat is also remembered for the day. Returns ``Set-Cookie`` values."""
        request = Request(scope, self.clock(), zone=self.zone)
        storage = self.consent.allows(request)
        visitor_id = self.store.visitor_id(request.cookies) if storage else None
        try:
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
