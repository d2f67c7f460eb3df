"""Where server stores keep records: a key-value ``Backend`` (process memory, or Redis: ``smalldata[redis]``).

Each answers ``get_many``/``put_many`` and counts capped rules' showings atomically (``claim``).
Whatever goes wrong on the way is a :class:`BackendError`: the store then serves from the cookie.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from smalldata.state.config import StateSettings
from smalldata.state.redis_topology import cluster_get_many, connect

__all__ = ["Backend", "BackendError", "MemoryBackend", "RedisBackend"]


class BackendError(Exception):
    """A server store could not be reached or answered badly."""


class Backend(Protocol):
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def put_many(self, items: Mapping[str, bytes], ttl: int) -> None: ...

    async def claim(self, counters: Sequence[tuple[str, int, int, int]]) -> list[bool]:
        """For each ``(key, max, seen, seconds)``: count one more if the counter (at least ``seen``)
        is below ``max``, keeping it ``seconds``; all at once, as one step no other client sees half of."""
        ...

    async def release(self, keys: Sequence[str]) -> None:
        """Count one less on each counter (never below zero)."""
        ...

    async def first(self, key: str, seconds: int) -> bool:
        """Mark ``key`` for ``seconds``; whether it was unmarked (one step, across every client)."""
        ...

    async def aclose(self) -> None: ...


class MemoryBackend:
    def __init__(self) -> None:
        self._items: dict[str, tuple[bytes, float]] = {}

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = time.monotonic()
        found = [self._items.get(key) for key in keys]
        return [item[0] if item and item[1] > now else None for item in found]

    async def put_many(self, items: Mapping[str, bytes], ttl: int) -> None:
        expires = time.monotonic() + ttl
        self._items.update({key: (value, expires) for key, value in items.items()})

    async def claim(self, counters: Sequence[tuple[str, int, int, int]]) -> list[bool]:
        now = time.monotonic()  # no await below: one step for every other request of this process
        granted = []
        for key, limit, seen, seconds in counters:
            found = self._items.get(key)
            count = max(int(found[0]) if found and found[1] > now else 0, seen)
            granted.append(count < limit)
            if count < limit:
                self._items[key] = (str(count + 1).encode(), now + seconds)
        return granted

    async def release(self, keys: Sequence[str]) -> None:
        for key in keys:
            found = self._items.get(key)
            if found and int(found[0]) > 0:
                self._items[key] = (str(int(found[0]) - 1).encode(), found[1])

    async def first(self, key: str, seconds: int) -> bool:
        now = time.monotonic()
        found = self._items.get(key)
        if found is not None and found[1] > now:
            return False
        self._items[key] = (b"1", now + seconds)
        return True

    async def aclose(self) -> None:
        self._items.clear()


class RedisBackend:
    """One Redis server, a Redis Cluster or a Sentinel-watched master (:mod:`smalldata.state.redis_topology`)."""

    def __init__(self, settings: StateSettings) -> None:
        try:
            import redis.asyncio  # noqa: F401  # only to say clearly that the package is missing
        except ImportError:
            raise RuntimeError(
                f"state.store {settings.store!r} needs the redis package: "
                "pip install 'smalldata[redis]'"
            ) from None

        self._url = settings.store
        self._timeout = settings.redis_timeout_ms / 1000
        self._cluster = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._redis: Any = None

    @property
    def _client(self) -> Any:
        # asyncio connections belong to the loop that opened them; a test client that runs
        # each request in a new loop would otherwise find every pooled connection dead.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._redis = loop, self._connect()
        return self._redis

    def _connect(self) -> Any:
        client, self._cluster = connect(self._url, self._timeout)
        return client

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        client = self._client
        if self._cluster:  # a visitor's and a user's records hash to two slots: one MGET each
            found: list[bytes | None] = await self._call(cluster_get_many(client, keys))
            return found
        result: list[bytes | None] = await self._call(client.mget(list(keys)))
        return result

    async def put_many(self, items: Mapping[str, bytes], ttl: int) -> None:
        pipe = self._client.pipeline(transaction=False)
        for key, value in items.items():
            pipe.set(key, value, ex=ttl)
        await self._call(pipe.execute())

    async def claim(self, counters: Sequence[tuple[str, int, int, int]]) -> list[bool]:
        args = [value for _, limit, seen, seconds in counters for value in (limit, seen, seconds)]
        granted = await self._call(self._client.eval(_CLAIM, len(counters), *[c[0] for c in counters], *args))
        return [bool(value) for value in granted]

    async def release(self, keys: Sequence[str]) -> None:
        await self._call(self._client.eval(_RELEASE, len(keys), *keys))

    async def first(self, key: str, seconds: int) -> bool:
        return bool(await self._call(self._client.set(key, b"1", nx=True, ex=seconds)))

    async def _call(self, awaitable: Any) -> Any:
        try:
            # Belt and braces: socket timeouts bound each read, this bounds the whole call.
            async with asyncio.timeout(self._timeout * 3):
                return await awaitable
        except Exception as exc:  # whatever Redis does, the page must not fail because of it
            raise BackendError(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        redis, self._redis, self._loop = self._redis, None, None
        if redis is not None:
            with contextlib.suppress(Exception):
                await redis.aclose()


#: Redis runs a script as one step: no other request of the visitor sees a counter half-claimed.
_CLAIM = """
local granted = {}
for i, key in ipairs(KEYS) do
  local limit, seen, seconds = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  local count = math.max(tonumber(redis.call('GET', key) or '0'), seen)
  if count < limit then
    redis.call('SET', key, count + 1, 'EX', seconds)
    granted[i] = 1
  else
    granted[i] = 0
  end
end
return granted
"""
_RELEASE = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""
