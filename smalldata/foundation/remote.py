"""Calling a remote JSON service (CRM, basket service, a declared signal's url, the recommender)
without ever slowing a page down.

A page waits at most ``timeout_ms`` for an answer; the call itself goes on (up to
``call_timeout_ms``), so a late answer is cached for the visitor's next page.
Answers are kept in a ``cachetools`` TTL cache; parallel requests for one key
share one call (no stampede when a customer opens ten tabs); and after
``failures_before_pause`` calls in a row that failed or outlasted
``call_timeout_ms``, a circuit breaker stops calling the service for
``pause_seconds``, then lets one trial call through — a burst of answers that are
merely slower than a page can wait for does not count. Every failure, and every
answer too late for the page, is "unknown" (None) to the caller. The HTTP client
is made at start-up (:meth:`RemoteSource.start`), not on a visitor's request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Annotated, Any, cast
from urllib.parse import quote

import httpx
from cachetools import TTLCache
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

logger = logging.getLogger("smalldata.sources")
_MISSING = object()  # not in the cache (None is a cached answer: "unknown")

MAX_KEY = 200


def check_http_url(value: str) -> str:
    """Refuse anything but an http:// or https:// URL (no file:, ftp:, or a bare host)."""
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"'{value}' must be an http:// or https:// URL")
    return value


HttpURL = Annotated[str, AfterValidator(check_http_url)]


class RemoteSettings(BaseModel):
    """How to call one HTTP service: a strict timeout, a TTL cache and a circuit breaker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_ms: int = Field(default=50, gt=0, le=10_000)  # how long a page waits for an answer
    # how long the call itself may take: a late answer is still cached for the next page, and only a call
    # that fails or outlasts this counts towards the pause (a burst of slow-ish answers is not an outage)
    call_timeout_ms: int = Field(default=2_000, gt=0, le=60_000)
    cache_seconds: float = Field(default=60, ge=0)
    cache_size: int = Field(default=10_000, ge=0)
    failures_before_pause: int = Field(default=5, ge=1)
    pause_seconds: float = Field(default=30, ge=0)
    headers: dict[str, str] = {}


class CircuitBreaker:
    """Closed → open after ``threshold`` consecutive failures → one trial after ``cooldown`` seconds."""

    def __init__(self, threshold: int, cooldown: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self._clock = clock
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        """``closed`` (calling), ``open`` (pausing) or ``half-open`` (a trial call is allowed)."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown and not self._trial:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one trial call is let through."""
        state = self.state
        if state == "half-open":
            self._trial = True
        return state != "open"

    def success(self) -> None:
        self.failures = 0
        self._opened_at = None
        self._trial = False

    def failure(self) -> None:
        self.failures += 1
        if self._trial or self.failures >= self.threshold:
            if self._opened_at is None or self._trial:
                logger.warning("pausing calls for %.0f s after %d failures", self.cooldown, self.failures)
            self._opened_at = self._clock()
            self._trial = False


class RemoteSource:
    """GET ``url`` (with ``{id}`` replaced by the key) and return its JSON object, or None.

    With a ``body``, :meth:`fetch` POSTs it as JSON to ``url`` instead (the recommender),
    and ``key`` names the answer in the cache. ``calls`` counts requests actually sent
    (tests and the health endpoint read it).
    A JSON list answer is returned as ``{"items": [...]}``; 404 is a known "nothing"
    and is cached like an answer; timeouts, errors and malformed JSON are failures.
    """

    def __init__(
        self,
        name: str,
        url: str,
        settings: RemoteSettings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.url = url
        self.settings = settings
        self.timeout = settings.timeout_ms / 1000
        self.call_timeout = max(settings.call_timeout_ms, settings.timeout_ms) / 1000
        self.late = 0  # answers that came after the page had gone on without them
        self.calls = 0
        self.breaker = CircuitBreaker(settings.failures_before_pause, settings.pause_seconds, clock=clock)
        self._client = client
        self._own_client = client is None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._cache: TTLCache[str, dict[str, Any] | None] | None = None
        if settings.cache_seconds > 0 and settings.cache_size > 0:
            self._cache = TTLCache(maxsize=settings.cache_size, ttl=settings.cache_seconds, timer=clock)
        self._inflight: dict[str, asyncio.Future[dict[str, Any] | None]] = {}

    async def fetch(self, key: str, body: Any = None) -> dict[str, Any] | None:
        """The service's answer for ``key`` (from cache when fresh), or None when unknown."""
        key = str(key)[:MAX_KEY]
        if self._cache is not None:
            # one look-up: between "in" and a read the entry may expire (the clock moves), and the read would raise
            cached = self._cache.get(key, _MISSING)
            if cached is not _MISSING:
                return cast(dict[str, Any] | None, cached)
        pending = self._inflight.get(key)
        if pending is None:
            # the client (a TLS context: tens of ms) is made before the page starts waiting for the answer
            self._http()
            pending = asyncio.ensure_future(self._load(key, body))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(key, None))
        try:
            # shield: a page that stops waiting (or is cancelled) must not cancel the fetch others share
            async with asyncio.timeout(self.timeout):
                return await asyncio.shield(pending)
        except TimeoutError:
            self.late += 1  # the call goes on: its answer is cached for the next page
            return None
        except Exception:  # pragma: no cover - _load catches its own errors
            logger.exception("%s source failed", self.name)
            return None

    async def _load(self, key: str, body: Any) -> dict[str, Any] | None:
        if not self.breaker.allow():
            return None
        self.calls += 1
        try:
            async with asyncio.timeout(self.call_timeout):
                if body is None:
                    response = await self._http().get(self.url.replace("{id}", quote(key, safe="")))
                else:
                    response = await self._http().post(self.url, json=body)
        except Exception as exc:  # timeouts, refused connections, bad URLs: all mean "unknown"
            return self._failed(f"{type(exc).__name__}")
        if response.status_code == 404:
            return self._answer(key, None)
        if response.status_code != 200:
            return self._failed(f"HTTP {response.status_code}")
        try:
            data = response.json()
        except (ValueError, RecursionError):  # 4 KB of "[" nests too deep to parse
            return self._failed("malformed JSON")
        if isinstance(data, list):
            data = {"items": data}
        if not isinstance(data, dict):
            return self._failed("JSON is not an object")
        return self._answer(key, data)

    def _answer(self, key: str, data: dict[str, Any] | None) -> dict[str, Any] | None:
        self.breaker.success()
        if self._cache is not None:
            self._cache[key] = data
        return data

    def _failed(self, why: str) -> dict[str, Any] | None:
        logger.info("%s source: %s; its signals are unknown for this request", self.name, why)
        self.breaker.failure()
        return None  # unknown

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._own_client and self._client_loop is not loop:
            # pooled connections belong to the loop that opened them (a test client may run
            # each request in a new loop): start a fresh client rather than fail forever
            self._client = None
            self._client_loop = loop
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.call_timeout),
                headers=self.settings.headers,
                follow_redirects=False,
            )
        return self._client

    async def start(self) -> None:
        """Make the HTTP client now (application start-up): its TLS set-up costs a first page ~0.3 s."""
        self._http()

    @property
    def started(self) -> bool:
        return self._client is not None

    async def aclose(self) -> None:
        """Close the HTTP client this source opened."""
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None
