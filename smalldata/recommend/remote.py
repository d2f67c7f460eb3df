"""``strategy: remote``: ask an HTTP recommender which products to show.

The service gets a POST with a JSON body describing the shopper (no IP, no
e-mail: only first-party ids and what they look at)::

    {"slot": "recommendations", "limit": 4, "visitor": "k3J...", "user": "c-42",
     "product": "mug-hygge", "category": "kitchen", "basket": ["sku-1"],
     "viewed": ["sku-9", ...], "language": "da"}

and answers with product ids, best first: ``["sku-2", "sku-7"]``,
``[{"id": "sku-2"}, ...]`` or ``{"items": [...]}`` (``products`` works too).
Ids are looked up in the catalogue, so stock, exclusions and template fields
come from the shop's own data.

The call goes through the same client as every remote source
(:class:`smalldata.foundation.remote.RemoteSource`): a page waits ``timeout_ms`` at most, a
later answer is cached for the next page, parallel pages share one call, and a
circuit breaker leaves a failing service alone for a while. A timeout, a network
error, a non-200 answer or a body of the wrong shape falls back to a local strategy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from smalldata.foundation.remote import RemoteSource
from smalldata.recommend.config import RecommenderSettings
from smalldata.recommend.context import Shopper

logger = logging.getLogger("smalldata.recommend")

MAX_ITEMS = 100
MAX_ID = 200
VIEWED_SENT = 12


class RemoteRecommender:
    """A client for the shop's HTTP recommender. One per app: its source holds the cache and the breaker."""

    def __init__(
        self,
        settings: RecommenderSettings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if settings.url is None:
            raise ValueError("the remote recommender needs recommender.url")
        self.source = RemoteSource("recommender", settings.url, settings, client=client, clock=clock)

    async def fetch(self, shopper: Shopper, *, slot: str, limit: int) -> list[str] | None:
        """Product ids for this shopper, best first; None when the service failed (fall back)."""
        body = request_body(shopper, slot=slot, limit=limit)
        key = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        answer = await self.source.fetch(key, body)
        if answer is None:
            return None
        try:
            return parse_answer(answer)
        except ValueError as exc:
            logger.info("smalldata: remote recommender failed (unusable answer: %s); using the fallback strategy", exc)
            return None

    async def start(self) -> None:
        """Make the HTTP client (at application start-up)."""
        await self.source.start()

    async def aclose(self) -> None:
        """Close the HTTP client this recommender opened (on application shutdown)."""
        await self.source.aclose()


def request_body(shopper: Shopper, *, slot: str, limit: int) -> dict[str, Any]:
    """The JSON the service receives; keys with unknown values are left out."""
    body: dict[str, Any] = {
        "slot": slot,
        "limit": limit,
        "visitor": shopper.visitor,
        "user": shopper.user,
        "product": shopper.product,
        "category": shopper.category,
        "basket": list(shopper.basket),
        "viewed": list(shopper.viewed[:VIEWED_SENT]),
        "language": shopper.language,
    }
    return {key: value for key, value in body.items() if value not in (None, [])}


def parse_answer(data: Any) -> list[str]:
    """Product ids from the service's JSON; raises ``ValueError`` for any other shape."""
    if isinstance(data, dict):
        data = data.get("items", data.get("products"))
    if not isinstance(data, list):
        raise ValueError("expected a list of product ids or {\"items\": [...]}")
    ids: list[str] = []
    for item in data[:MAX_ITEMS]:
        value = item.get("id") if isinstance(item, dict) else item
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value or len(value) > MAX_ID:
            raise ValueError(f"not a product id: {str(value)[:40]!r}")
        ids.append(value)
    return ids
