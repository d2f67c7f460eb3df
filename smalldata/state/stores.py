"""Where visitor state lives between requests: the cookie itself, process memory, or Redis.

All stores share one small async interface (:class:`StateStore`). The caller
says explicitly whether the visitor allows storage; without it a store reads no
cookie, writes none and touches no server.

``CookieStore`` (the default) keeps the whole state in the signed cookie: no
server state, any number of workers. ``RedisStore`` keeps it under
``sd:v:{<visitor id>}``, shared by all app instances, and the cookie carries only
the signed id, the visit counters (first and last seen, visits, page views) and
the cap counters; for a logged-in user the history and cap counters also live
under ``sd:u:{<hash of user id>}``, so they follow the user to every device.
``MemoryStore`` is the same with a dict, for tests.

A server store that fails (down, slow, refusing) never fails the request: it
logs once, serves from the cookie — the counters it carries, so a visitor is
not reset and gets no capped rule again that their cap used up; their whole
state goes into the cookie while the server is away —
and tries the server again after ``retry_after`` seconds. Once it is back, the
state written during the outage is merged into the stored one (counters by their
maximum, history and caps as from another device), never written over it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from smalldata.state.caps import CapClaim
from smalldata.state.config import StateSettings
from smalldata.state.cookie_store import CookieStore
from smalldata.state.model import VisitorState
from smalldata.state.server_store import MemoryStore, RedisStore

__all__ = ["CookieStore", "MemoryStore", "RedisStore", "StateStore", "make_store"]


class StateStore(Protocol):
    """Loads and saves one visitor's state for one request.

    Whether state may be kept at all (consent) is decided before a store is asked:
    a store only loads and saves. ``keys_users`` says whether it files state under the
    logged-in user (the caller then passes ``user_id``; otherwise it need not work out
    who is logged in).
    """

    keys_users: bool

    async def load(
        self, cookies: Mapping[str, str], *, now: datetime | int, user_id: str | None = None
    ) -> VisitorState:
        """The visitor's state: a new visitor when unknown or the cookie is bad."""
        ...

    async def save(self, state: VisitorState, *, secure: bool, user_id: str | None = None) -> list[str]:
        """Persist ``state``; returns the ``Set-Cookie`` header values to send.
        ``secure``: the request came over HTTPS."""
        ...

    def visitor_id(self, cookies: Mapping[str, str]) -> str | None:
        """The id in a valid visitor cookie, without loading the state (rate limits, client events)."""
        ...

    def first_seen(self, cookies: Mapping[str, str]) -> int | None:
        """When the visitor of a valid cookie was first seen (epoch seconds), without loading the state:
        a cookie minted a moment ago is not yet an established visitor's (rate limits)."""
        ...

    async def claim(self, state: VisitorState, claims: Sequence[CapClaim]) -> list[bool]:
        """Count each showing of a capped rule where every worker sees it, atomically; ``False``
        for one whose cap another request of this visitor reached first. A store with no
        shared server (or with its server away) allows them all: the state has capped them."""
        ...

    async def release(self, state: VisitorState, claims: Sequence[CapClaim]) -> None:
        """Give back claims the request did not use (its response was not a page)."""
        ...

    async def once(self, name: str, seconds: int) -> bool | None:
        """Whether this is the first time ``name`` is marked (kept ``seconds``), as every worker sees it;
        ``None`` when the store has no shared server or it is away (the caller remembers it itself)."""
        ...

    async def aclose(self) -> None:
        """Release connections (call at application shutdown)."""
        ...


def make_store(settings: StateSettings) -> StateStore:
    """The store ``settings.store`` names: ``cookie``, ``memory`` or a Redis URL (one server, a
    cluster or Sentinel: :mod:`smalldata.state.redis_topology`)."""
    if settings.store == "cookie":
        return CookieStore(settings)
    if settings.store == "memory":
        return MemoryStore(settings)
    return RedisStore(settings)
