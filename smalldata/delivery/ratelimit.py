"""A per-visitor token bucket for the events endpoint, in bounded memory."""

from __future__ import annotations

import time
from collections.abc import Callable

from cachetools import TTLCache


class RateLimiter:
    """Allow ``burst`` events at once and ``rate`` per second after that, per key.

    Buckets live in a TTL cache of at most ``max_keys`` entries, so a flood of
    new visitor ids costs bounded memory; an evicted bucket simply starts full.
    """

    def __init__(
        self,
        *,
        rate: float = 1.0,
        burst: int = 20,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        # An idle bucket refills completely after burst / rate seconds; keep it no longer.
        ttl = max(burst / rate, 1.0)
        self._buckets: TTLCache[str, tuple[float, float]] = TTLCache(max_keys, ttl, timer=clock)

    def allow(self, key: str) -> bool:
        """Take one token from ``key``'s bucket; false when it is empty."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True
