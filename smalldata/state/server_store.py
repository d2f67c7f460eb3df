"""Server stores: the visitor's state in a key-value server (Redis, or process memory for tests),
the signed visitor id and counters in the cookie (see :mod:`smalldata.state.stores`).

A server that fails never fails the request: the store logs once, serves from the
cookie, tries again after ``retry_after`` seconds, and merges what the cookie carried
through the outage into the stored state when the server is back. A capped rule whose
count the server cannot take is not shown (caps fail closed); the rest of the page is.

A client that brings no visitor cookie (a first request, a bot, a one-page visitor)
costs the server nothing: its first response sets a cookie carrying the whole state,
and the server record is written only when that cookie comes back. Records live
``ttl_days`` after their last write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from smalldata.state.backends import Backend, BackendError, MemoryBackend, RedisBackend
from smalldata.state.caps import CapClaim, CapLedger
from smalldata.state.config import StateSettings
from smalldata.state.cookie_store import CookieStore
from smalldata.state.model import History, VisitorState, is_visitor_id

__all__ = ["MemoryStore", "RedisStore"]

log = logging.getLogger("smalldata.state")


#: Calls that fail in a row before the store counts its server away and stops asking it for ``retry_after``.
FAILURES_BEFORE_AWAY = 3


class _ServerStore:
    """State in a key-value server, the signed visitor id in the cookie; ``failures`` counts failed calls."""

    keys_users = True  # a logged-in user's history follows them across devices
    failures = 0

    def __init__(
        self, backend: Backend, settings: StateSettings | None, *, retry_after: float
    ) -> None:
        self.cookies = CookieStore(settings)
        self.settings = self.cookies.settings
        self._backend = backend
        self._retry_after = retry_after
        self._down_until: float | None = None
        self._failures = 0  # calls failed in a row: one slow reply is not an outage
        self.ttl = int(self.settings.ttl.total_seconds())

    async def load(
        self, cookies: Mapping[str, str], *, now: datetime | int, user_id: str | None = None
    ) -> VisitorState:
        data = self.cookies.read_cookie(cookies)
        visitor_id = data.get("i") if data and is_visitor_id(data.get("i")) else None
        keys = [_visitor_key(visitor_id)] if visitor_id else []
        keys += [_user_key(user_id)] if user_id else []
        records = await self._get(keys)
        in_cookie = self.cookies.state_from(data)
        if records is None:  # server away: the cookie is all we have (its counters, at least)
            away = in_cookie if in_cookie is not None else self.cookies.new_state(now, visitor_id)
            away.transient = visitor_id is None
            away.outage = visitor_id is not None  # its record, unread, must not be overwritten by it
            return away
        stored = _parse(records.pop(0)) if visitor_id else None
        outage = data is not None and not data.get("k")  # the whole state rode in the cookie
        state = self._newest(stored, in_cookie, outage=outage)
        if state is None:
            state = self.cookies.new_state(now, visitor_id)
        state.transient = visitor_id is None
        _link_user(state, user_id, _parse(records.pop(0)) if user_id else None, merge=outage)
        return state

    async def save(self, state: VisitorState, *, secure: bool, user_id: str | None = None) -> list[str]:
        # A client that brought no cookie gets its state in the cookie and nothing on the server:
        # only a visitor who comes back with it is worth a record (bots and one-page visitors never do).
        if state.outage and not state.transient:
            await self._catch_up(state, user_id)
        items = {} if state.transient else {_visitor_key(state.id): _dump(state.to_json())}
        if user_id:  # bounded by the shop's customers, not by its clients
            state.user = _user_hash(user_id)
            user = {"h": state.history.to_json(), "c": state.caps.to_json()}
            items[_user_key(user_id)] = _dump(user)
        if items and await self._put(items, self.ttl) and not state.transient:
            return [self.cookies.core_cookie(state, secure)]
        return [self.cookies.state_cookie(state, secure)]

    async def _catch_up(self, state: VisitorState, user_id: str | None) -> None:
        """Merge the records a state loaded during an outage did not see, now that the server answers
        again (it came back between this page's load and its save); still away: the cookie carries it."""
        keys = [_visitor_key(state.id), *([_user_key(user_id)] if user_id else [])]
        records = await self._get(keys)
        if records is None:
            return
        state.outage = False
        stored = self._newest(_parse(records[0]), None, outage=False)
        if stored is not None:
            state.merge_outage(stored)
        if user_id:
            _link_user(state, user_id, _parse(records[1]), merge=True)

    def visitor_id(self, cookies: Mapping[str, str]) -> str | None:
        return self.cookies.visitor_id(cookies)

    def first_seen(self, cookies: Mapping[str, str]) -> int | None:
        return self.cookies.first_seen(cookies)

    async def claim(self, state: VisitorState, claims: Sequence[CapClaim]) -> list[bool]:
        if state.transient and not state.user:
            # a fresh id no other request holds: the state's own count is the whole truth
            return [True] * len(claims)
        if not self._available():
            return [False] * len(claims)  # a cap that cannot be checked is not shown
        try:
            granted = await self._backend.claim(self._counters(state, claims))
        except BackendError as exc:
            self._failed(exc)
            return [False] * len(claims)
        self._recovered()
        return granted

    async def release(self, state: VisitorState, claims: Sequence[CapClaim]) -> None:
        if claims and self._available():
            try:
                await self._backend.release([key for key, _, _, _ in self._counters(state, claims)])
            except BackendError as exc:
                self._failed(exc)

    async def once(self, name: str, seconds: int) -> bool | None:
        if not self._available():
            return None
        try:
            first = await self._backend.first(_ONCE_PREFIX + name, seconds)
        except BackendError as exc:
            self._failed(exc)
            return None
        self._recovered()
        return first

    async def aclose(self) -> None:
        await self._backend.aclose()

    def _counters(self, state: VisitorState, claims: Sequence[CapClaim]) -> list[tuple[str, int, int, int]]:
        """``(key, max, seen, seconds)`` per claim; a logged-in user's caps are theirs on every device.

        Every key is tagged ``{owner}``: one claim's counters share a cluster slot, so it stays one script."""
        owner = f"u:{state.user}" if state.user else state.id
        ever = self.ttl
        return [(_CAP_PREFIX + claim.key(f"{{{owner}}}"), claim.max, claim.seen, _CAP_SECONDS.get(claim.per, ever))
                for claim in claims]

    def _newest(self, stored: Any, in_cookie: VisitorState | None, *, outage: bool) -> VisitorState | None:
        """The stored state; merged with a whole state the cookie carried through an outage (``outage``)."""
        state = None
        if stored is not None:
            state = VisitorState.from_json(
                stored, limits=self.settings.history, idle=self.settings.visit_timeout
            )
        if state is None:
            return in_cookie  # nothing stored (a server that lost its data): the cookie's state, or counters
        if in_cookie is not None and outage:
            in_cookie.merge_outage(state)
            return in_cookie
        return state

    async def _get(self, keys: list[str]) -> list[bytes | None] | None:
        if not keys:  # a new, anonymous visitor: nothing to ask the server
            return []
        if not self._available():
            return None
        try:
            records = await self._backend.get_many(keys)
        except BackendError as exc:
            self._failed(exc)
            return None
        self._recovered()
        return records

    async def _put(self, items: dict[str, bytes], ttl: int) -> bool:
        if not self._available():
            return False
        try:
            await self._backend.put_many(items, ttl)
        except BackendError as exc:
            self._failed(exc)
            return False
        self._recovered()
        return True

    def _available(self) -> bool:
        return self._down_until is None or time.monotonic() >= self._down_until

    def _failed(self, exc: BackendError) -> None:
        self._failures += 1
        self.failures += 1
        if self._failures < FAILURES_BEFORE_AWAY and self._down_until is None:
            return  # one slow reply (a busy loop, a GC pause) is not an outage: this request did without
        if self._down_until is None:  # log once per outage, not once per request
            log.warning("smalldata: visitor store unavailable (%s); using the cookie", exc)
        self._down_until = time.monotonic() + self._retry_after

    def _recovered(self) -> None:
        self._failures = 0
        if self._down_until is not None:
            log.warning("smalldata: visitor store is back")
            self._down_until = None


class MemoryStore(_ServerStore):
    """State in this process's memory (tests; single-process demos)."""

    def __init__(self, settings: StateSettings | None = None, *, retry_after: float = 5.0) -> None:
        super().__init__(MemoryBackend(), settings, retry_after=retry_after)


class RedisStore(_ServerStore):
    """State in Redis (``settings.store`` is the URL), shared by every app instance and device.

    Needs the ``redis`` package (``pip install smalldata[redis]``). Socket
    timeouts are ``settings.redis_timeout_ms`` with no retries; after
    :data:`FAILURES_BEFORE_AWAY` failed calls in a row the store stops asking for
    ``retry_after`` seconds, so a dead server costs a few short waits, not one per request.
    """

    def __init__(self, settings: StateSettings, *, retry_after: float = 5.0) -> None:
        super().__init__(RedisBackend(settings), settings, retry_after=retry_after)


#: Counters of capped rules that every worker shares (``RedisStore``, ``MemoryStore``), and how
#: long each is kept: a little longer than its period; ``ever`` as long as the visitor's state.
_CAP_PREFIX = "sd:cap:"
_ONCE_PREFIX = "sd:once:"  # things that happen once across every worker (an order recorded)
_CAP_SECONDS = {"visit": 2 * 86_400, "day": 2 * 86_400, "week": 8 * 86_400}


def _link_user(state: VisitorState, user_id: str | None, record: Any, *, merge: bool = False) -> None:
    """Give a logged-in visitor the user's history and caps (from every device).

    While this visitor stays linked to the user, the user's record is the truth;
    when they first log in here, or come back with state the cookie carried while
    the server was away (``merge``: the record missed it), this device's history
    (the freshest) goes first and the caps are merged.
    """
    if not user_id:
        state.user = None  # logged out: the next log-in merges this device's browsing again
        return
    user_hash = _user_hash(user_id)
    record = record if isinstance(record, dict) else {}
    history = History.from_json(record["h"], state.limits) if "h" in record else None
    caps = CapLedger.from_json(record["c"]) if "c" in record else None
    data = state.data
    if state.user == user_hash and not merge:
        if history is not None:
            data["h"] = history.data
        if caps is not None:
            data["c"] = caps.rows
    else:
        if history is not None:
            state.history.merge_older(history, state.limits)
        if caps is not None:
            state.caps.merge(caps)
        state.user = user_hash


# Each key's {hash tag} is its owner (a visitor, a user): on a Redis Cluster every key one
# command names lives in one slot (redis_topology.py).
def _visitor_key(visitor_id: str) -> str:
    return f"sd:v:{{{visitor_id}}}"


def _user_key(user_id: str) -> str:
    return f"sd:u:{{{_user_hash(user_id)}}}"


def _user_hash(user_id: str) -> str:
    # User ids are often e-mail addresses: keep them out of keys and stored state.
    digest = hashlib.blake2b(user_id.encode("utf-8"), digest_size=12, person=b"smalldata-user")
    return digest.hexdigest()


def _dump(data: dict[str, Any]) -> bytes:
    # ASCII escapes: a lone surrogate (from a query string, say) is stored, never an error that sticks
    return json.dumps(data, separators=(",", ":")).encode("ascii")


def _parse(record: bytes | None) -> Any:
    if record is None:
        return None
    try:
        return json.loads(record)
    except ValueError:
        return None
