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

Calls have a strict total timeout and answers are cached (``cachetools`` TTL).
A timeout, a network error, a non-200 answer or a body of the wrong shape is a
failure: the caller falls back to a local strategy. After
``failures_before_pause`` failures in a row the service is left alone for
``pause_seconds`` (a circuit breaker), so a dead recommender costs nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from cachetools import TTLCache

from smalldata.recommend.config import RecommenderSettings
from smalldata.recommend.context import Shopper
from smalldata.sources.http import CircuitBreaker

logger = logging.getLogger("smalldata.recommend")

MAX_ITEMS = 100
MAX_ID = 200
VIEWED_SENT = 12


class RemoteRecommender:
    """A client for the shop's HTTP recommender. One per app: it holds the cache and the breaker."""

    def __init__(
        self,
        settings: RecommenderSettings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if settings.url is None:
            raise ValueError("the remote recommender needs recommender.url")
        self.url = settings.url
        self.settings = settings
        self.timeout = settings.timeout_ms / 1000
        self.calls = 0
        self.failures = 0
        self.breaker = CircuitBreaker(settings.failures_before_pause, settings.pause_seconds, clock=clock)
        self._client = client
        self._own_client = client is None
        self._cache: TTLCache[str, list[str]] | None = None
        if settings.cache_seconds > 0 and settings.cache_size > 0:
            self._cache = TTLCache(maxsize=settings.cache_size, ttl=settings.cache_seconds, timer=clock)

    async def fetch(self, shopper: Shopper, *, slot: str, limit: int) -> list[str] | None:
        """Product ids for this shopper, best first; None when the service failed (fall back)."""
        body = request_body(shopper, slot=slot, limit=limit)
        key = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if self._cache is not None and key in self._cache:
            return self._cache[key]
        if not self.breaker.allow():
            return None
        ids = await self._call(body)
        if ids is None:
            self.failures += 1
            self.breaker.failure()
            return None
        self.breaker.success()
        if self._cache is not None:
            self._cache[key] = ids
        return ids

    async def _call(self, body: dict[str, Any]) -> list[str] | None:
        self.calls += 1
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http().post(self.url, json=body)
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            return _failed(type(exc).__name__)
        if response.status_code != 200:
            return _failed(f"HTTP {response.status_code}")
        try:
            return parse_answer(response.json())
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep to parse
            return _failed(f"unusable answer ({exc})")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout), headers=self.settings.headers, follow_redirects=False
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client this recommender opened (on application shutdown)."""
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None


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


def _failed(why: str) -> list[str] | None:
    logger.info("smalldata: remote recommender failed (%s); using the fallback strategy", why)
    return None
