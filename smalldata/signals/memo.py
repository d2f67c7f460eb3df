"""Small, fast in-process memos for the providers' per-request work.

``cachetools`` caches run Python code on every hit (~1-2 µs); these are a plain
``dict`` lookup plus, for :class:`ShortMemo`, one clock read, which matters for
work done on every page view.
"""

from __future__ import annotations

import contextlib
import time
from typing import Generic, TypeVar

__all__ = ["MISSING", "ShortMemo"]

K = TypeVar("K")
V = TypeVar("V")

MISSING: object = object()
"""What :meth:`ShortMemo.get` answers for a key it does not hold (``None`` is a value)."""


class ShortMemo(Generic[K, V]):
    """At most ``maxsize`` entries, each forgotten ``ttl`` seconds after it was stored.

    For values that must not linger (anything derived from an IP address): an
    entry is never answered after its time, however often it is read. When
    full, the oldest entry goes first. Safe to share between threads: a race
    costs at most a recomputation.
    """

    def __init__(self, maxsize: int, ttl: float) -> None:
        self.maxsize = max(1, maxsize)
        self.ttl = ttl
        self._items: dict[K, tuple[V, float]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | object:
        """The value stored for ``key``, or :data:`MISSING` when absent or expired."""
        item = self._items.get(key)
        if item is None:
            return MISSING
        if item[1] < time.monotonic():
            self._items.pop(key, None)
            return MISSING
        return item[0]

    def put(self, key: K, value: V) -> None:
        """Store ``value`` for ``key`` for the next ``ttl`` seconds."""
        items = self._items
        if key not in items and len(items) >= self.maxsize:
            # dicts keep insertion order: the first key is the oldest (errors: another thread won)
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                del items[next(iter(items))]
        items[key] = (value, time.monotonic() + self.ttl)

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()
