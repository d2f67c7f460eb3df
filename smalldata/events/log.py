"""``EventLog``: turns exposures and client events into event records for a sink.

An event is a flat JSON object; ``smalldata report`` reads files of them::

    {"type": "exposure", "at": "2026-11-25T10:00:00Z", "visitor": "k3J...", "experiment": "easter-banner",
     "variant": "b", "rule": "easter-banner-test", "version": "3f2a...", "forced": false}
    {"type": "conversion", "at": "...", "visitor": "k3J...", "value": 499.0, "currency": "DKK", "order_id": "A-1",
     "source": "server" | "browser"}
    {"type": "chat_shown" | "chat_accepted" | "chat_dismissed", "at": "...", "visitor": "...", "rule": "pricing-chat"}

Exposures are reported once per (visitor, experiment, variant, ruleset version).
The visitor's state already remembers the exposures it has reported
(``VisitorState.apply`` returns only new ones), but that memory travels in a
cookie and is bounded, and a page with parallel requests can decide twice
before the cookie comes back; so this log keeps its own bounded, expiring set
of the keys it has written (in-process: per worker). Conversions with an
``order_id`` are written once per order (a reloaded receipt page is not a
second sale): those the shop's server records (``source: server``) once per
order id, those a browser posts (``source: browser``) once per order id and
visitor, so a browser posting someone else's order id first never stops the real
one; ``smalldata report`` counts a server's order over any browser's of that id.
A store every worker shares (Redis) can decide "once" for all of them (``first``).
No IP address or personal data goes into an event: only the random first-party
visitor id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from cachetools import TTLCache

from smalldata.decision import Exposure
from smalldata.events.sinks import Event, EventSink

EventType = Literal["exposure", "chat_shown", "chat_accepted", "chat_dismissed", "conversion"]
CLIENT_TYPES = ("chat_shown", "chat_accepted", "chat_dismissed", "conversion")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EventLog:
    """Writes events to ``sink``; one per app (it holds the de-duplication memory)."""

    def __init__(
        self,
        sink: EventSink,
        *,
        clock: Callable[[], datetime] = _utc_now,
        remember: int = 100_000,
        remember_seconds: float = 24 * 3600,
    ) -> None:
        self.sink = sink
        self.clock = clock
        self.duplicates = 0
        self._seen: TTLCache[tuple[Any, ...], bool] = TTLCache(maxsize=remember, ttl=remember_seconds)

    def exposures(
        self,
        exposures: Iterable[Exposure],
        *,
        visitor_id: str | None,
        ruleset_version: str,
        path: str | None = None,
    ) -> list[Exposure]:
        """Write the exposures not yet written for this visitor; returns those written.

        Forced ones (previews) are written with ``forced: true``, so reports leave them out.
        """
        written: list[Exposure] = []
        for exposure in exposures:
            key = ("x", visitor_id, exposure.experiment, exposure.variant, ruleset_version, exposure.forced)
            if visitor_id is not None and self._already(key):
                continue
            self._emit("exposure", visitor_id, experiment=exposure.experiment, variant=exposure.variant,
                       rule=exposure.rule, version=ruleset_version, forced=exposure.forced, path=path)  # fmt: skip
            written.append(exposure)
        return written

    def chat(self, type: EventType, *, visitor_id: str | None, rule: str, path: str | None = None) -> None:
        """``chat_shown``, ``chat_accepted`` or ``chat_dismissed`` for the invitation of ``rule``."""
        if type not in ("chat_shown", "chat_accepted", "chat_dismissed"):
            raise ValueError(f"not a chat event: {type}")
        self._emit(type, visitor_id, rule=rule, path=path)

    def conversion(
        self,
        *,
        visitor_id: str | None,
        value: float | None = None,
        currency: str | None = None,
        order_id: str | None = None,
        path: str | None = None,
        source: Literal["server", "browser"] = "browser",
        first: bool | None = None,
    ) -> bool:
        """A purchase (or any goal); False when this ``order_id`` was already written (from this source).

        ``first``: whether a store every worker shares saw the order for the first time
        (``None``: this log's own memory decides)."""
        if order_id is not None:
            key = ("o", source, order_id) if source == "server" else ("o", source, order_id, visitor_id)
            if first is None:
                first = not self._already(key)
            elif not first:
                self.duplicates += 1
            if not first:
                return False
        self._emit("conversion", visitor_id, value=value, currency=currency, order_id=order_id, path=path,
                   source=source)  # fmt: skip
        return True

    def client_event(self, event: Any, *, visitor_id: str | None) -> None:
        """An event posted to ``/_smalldata/events`` (a ``ClientEvent``: type, rule, path, value, ...)."""
        if event.type == "conversion":
            self.conversion(visitor_id=visitor_id, value=event.value, currency=event.currency,
                            order_id=event.order_id, path=event.path)  # fmt: skip
        elif event.type in CLIENT_TYPES and event.rule:
            self.chat(event.type, visitor_id=visitor_id, rule=event.rule, path=event.path)

    def stats(self) -> dict[str, int]:
        """The sink's counters plus duplicates left out (for the health endpoint)."""
        return {**self.sink.stats(), "duplicates": self.duplicates}

    async def aclose(self) -> None:
        """Flush and close the sink (on application shutdown)."""
        await self.sink.aclose()

    def _already(self, key: tuple[Any, ...]) -> bool:
        if key in self._seen:
            self.duplicates += 1
            return True
        self._seen[key] = True
        return False

    def _emit(self, type: EventType, visitor_id: str | None, **fields: Any) -> None:
        at = self.clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        event: Event = {"type": type, "at": at, "visitor": visitor_id}
        event.update((key, value) for key, value in fields.items() if value is not None)
        self.sink.emit(event)
