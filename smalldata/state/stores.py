"""Where visitor state lives between requests: the cookie itself, process memory, or Redis.

All stores share one small async interface (:class:`StateStore`). The caller
says explicitly whether the visitor allows storage; without it a store reads no
cookie, writes none and touches no server.

``CookieStore`` (the default) keeps the whole state in the signed cookie: no
server state, any number of workers. ``RedisStore`` keeps it under
``sd:v:<visitor id>``, shared by all app instances, and the cookie carries only
the signed id and the visit counters (first and last seen, visits, page views);
for a logged-in user the history and cap counters also live under
``sd:u:<hash of user id>``, so they follow the user to every device.
``MemoryStore`` is the same with a dict, for tests.

A server store that fails (down, slow, refusing) never fails the request: it
logs once, serves from the cookie — the counters it carries, so a visitor is
not reset; their whole state goes into the cookie while the server is away —
and tries the server again after ``retry_after`` seconds. Once it is back, the
state written during the outage is merged into the stored one (counters by their
maximum, history and caps as from another device), never written over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from smalldata.asgi import Cookies
from smalldata.state.caps import CapClaim, CapLedger
from smalldata.state.codec import MAX_COOKIE_CHARS, CookieCodec, cookie_header
from smalldata.state.config import StateSettings
from smalldata.state.model import History, VisitorState, is_visitor_id

__all__ = ["CookieStore", "MemoryStore", "RedisStore", "StateStore", "make_store"]

log = logging.getLogger("smalldata.state")


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

    async def claim(self, state: VisitorState, claims: Sequence[CapClaim]) -> list[bool]:
        """Count each showing of a capped rule where every worker sees it, atomically; ``False``
        for one whose cap another request of this visitor reached first. A store with no
        shared server (or with its server away) allows them all: the state has capped them."""
        ...

    async def release(self, state: VisitorState, claims: Sequence[CapClaim]) -> None:
        """Give back claims the request did not use (its response was not a page)."""
        ...

    async def aclose(self) -> None:
        """Release connections (call at application shutdown)."""
        ...


def make_store(settings: StateSettings) -> StateStore:
    """The store ``settings.store`` names: ``cookie``, ``memory`` or a ``redis://`` URL."""
    if settings.store == "cookie":
        return CookieStore(settings)
    if settings.store == "memory":
        return MemoryStore(settings)
    return RedisStore(settings)


class CookieStore:
    """The whole state in one signed cookie (the default)."""

    keys_users = False  # a cookie belongs to one browser: the user id is never asked for

    def __init__(self, settings: StateSettings | None = None) -> None:
        self.settings = settings or StateSettings()
        self._codec = CookieCodec(self.settings.signing_keys())
        self._idle = int(self.settings.visit_timeout.total_seconds())
        self._name = self.settings.cookie
        self._history = self.settings.history
        # the Set-Cookie attributes never change: format them once, not on every page
        max_age = int(self.settings.max_age.total_seconds())
        self._attributes = {
            secure: cookie_header("", "", max_age=max_age, secure=secure)[1:] for secure in (False, True)
        }

    async def load(
        self, cookies: Mapping[str, str], *, now: datetime | int, user_id: str | None = None
    ) -> VisitorState:
        return self.from_cookie(cookies, now)

    async def save(self, state: VisitorState, *, secure: bool, user_id: str | None = None) -> list[str]:
        return [self._header(_fit(self._codec, state), secure)]

    def visitor_id(self, cookies: Mapping[str, str]) -> str | None:
        data = self.read_cookie(cookies)
        visitor_id = data.get("i") if data else None
        return visitor_id if is_visitor_id(visitor_id) else None

    async def claim(self, state: VisitorState, claims: Sequence[CapClaim]) -> list[bool]:
        # Nothing is shared between the responses to one cookie but the browser: the client
        # script keeps an invitation's cap there (the payload carries the cap and its period).
        return [True] * len(claims)

    async def release(self, state: VisitorState, claims: Sequence[CapClaim]) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def from_cookie(self, cookies: Mapping[str, str], now: datetime | int) -> VisitorState:
        """The state in the cookie; a new visitor (keeping a valid id) when there is none."""
        data = self.read_cookie(cookies)
        if data and "f" in data:
            state = VisitorState.from_signed(data, limits=self._history, idle=self._idle)
            if state is not None:
                return state
        known_id = data.get("i") if data else None
        return self.new_state(now, known_id if isinstance(known_id, str) else None)

    def read_cookie(self, cookies: Mapping[str, str]) -> dict[str, Any] | None:
        """The data of the visitor cookie; of several sent under our name, the first that verifies."""
        value = cookies.get(self._name)
        data = self._codec.loads(value)
        if data is None and isinstance(cookies, Cookies):
            for other in cookies.all(self._name)[1:]:
                data = self._codec.loads(other)
                if data is not None:
                    break
        return data

    def new_state(self, now: datetime | int, visitor_id: str | None = None) -> VisitorState:
        return VisitorState.new(now, id=visitor_id, limits=self._history, idle=self._idle)

    def core_cookie(self, state: VisitorState, secure: bool) -> str:
        """A ``Set-Cookie`` for server stores: the visitor id and visit counters, marked ``k`` (no history)."""
        data = state.data
        core = {key: data[key] for key in _CORE if key in data}
        core["k"] = 1
        return self._header(self._codec.dumps(core), secure)

    def state_cookie(self, state: VisitorState, secure: bool) -> str:
        """A ``Set-Cookie`` carrying the whole state."""
        return self._header(_fit(self._codec, state), secure)

    def state_from(self, data: dict[str, Any] | None) -> VisitorState | None:
        """The state in a decoded cookie (a server store's core cookie: its counters only), or ``None``."""
        if not data or "f" not in data:  # an id-only cookie written by an older server store
            return None
        if data.get("k"):
            data = {key: value for key, value in data.items() if key != "k"}
            data.pop("v", None)  # checked as stored data
        return VisitorState.from_signed(data, limits=self._history, idle=self._idle)

    def _header(self, value: str, secure: bool) -> str:
        return f"{self._name}={value}{self._attributes[bool(secure)]}"


class BackendError(Exception):
    """A server store could not be reached or answered badly."""


class _Backend(Protocol):
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def put_many(self, items: Mapping[str, bytes], ttl: int) -> None: ...

    async def claim(self, counters: Sequence[tuple[str, int, int, int]]) -> list[bool]:
        """For each ``(key, max, seen, seconds)``: count one more if the counter (at least ``seen``)
        is below ``max``, keeping it ``seconds``; all at once, as one step no other client sees half of."""
        ...

    async def release(self, keys: Sequence[str]) -> None:
        """Count one less on each counter (never below zero)."""
        ...

    async def aclose(self) -> None: ...


class _ServerStore:
    """State in a key-value server, the signed visitor id in the cookie."""

    keys_users = True  # a logged-in user's history follows them across devices

    def __init__(
        self, backend: _Backend, settings: StateSettings | None, *, retry_after: float
    ) -> None:
        self.cookies = CookieStore(settings)
        self.settings = self.cookies.settings
        self._backend = backend
        self._retry_after = retry_after
        self._down_until: float | None = None

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
            return in_cookie if in_cookie is not None else self.cookies.new_state(now, visitor_id)
        stored = _parse(records.pop(0)) if visitor_id else None
        state = self._newest(stored, in_cookie, outage=data is not None and not data.get("k"))
        if state is None:
            state = self.cookies.new_state(now, visitor_id)
        _link_user(state, user_id, _parse(records.pop(0)) if user_id else None)
        return state

    async def save(self, state: VisitorState, *, secure: bool, user_id: str | None = None) -> list[str]:
        ttl = int(self.settings.max_age.total_seconds())
        items = {_visitor_key(state.id): _dump(state.to_json())}
        if user_id:
            state.user = _user_hash(user_id)
            user = {"h": state.history.to_json(), "c": state.caps.to_json()}
            items[_user_key(user_id)] = _dump(user)
        if await self._put(items, ttl):
            return [self.cookies.core_cookie(state, secure)]
        return [self.cookies.state_cookie(state, secure)]

    def visitor_id(self, cookies: Mapping[str, str]) -> str | None:
        return self.cookies.visitor_id(cookies)

    async def claim(self, state: VisitorState, claims: Sequence[CapClaim]) -> list[bool]:
        counters = self._counters(state, claims)
        if not self._available():
            return [True] * len(claims)
        try:
            granted = await self._backend.claim(counters)
        except BackendError as exc:
            self._failed(exc)
            return [True] * len(claims)
        self._recovered()
        return granted

    async def release(self, state: VisitorState, claims: Sequence[CapClaim]) -> None:
        if claims and self._available():
            try:
                await self._backend.release([key for key, _, _, _ in self._counters(state, claims)])
            except BackendError as exc:
                self._failed(exc)

    async def aclose(self) -> None:
        await self._backend.aclose()

    def _counters(self, state: VisitorState, claims: Sequence[CapClaim]) -> list[tuple[str, int, int, int]]:
        """``(key, max, seen, seconds)`` per claim; a logged-in user's caps are theirs on every device."""
        owner = f"u:{state.user}" if state.user else state.id
        ever = int(self.settings.max_age.total_seconds())
        return [(_CAP_PREFIX + claim.key(owner), claim.max, claim.seen, _CAP_SECONDS.get(claim.per, ever))
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
        if self._down_until is None:  # log once per outage, not once per request
            log.warning("smalldata: visitor store unavailable (%s); using the cookie", exc)
        self._down_until = time.monotonic() + self._retry_after

    def _recovered(self) -> None:
        if self._down_until is not None:
            log.warning("smalldata: visitor store is back")
            self._down_until = None


class MemoryStore(_ServerStore):
    """State in this process's memory (tests; single-process demos)."""

    def __init__(self, settings: StateSettings | None = None, *, retry_after: float = 5.0) -> None:
        super().__init__(_MemoryBackend(), settings, retry_after=retry_after)


class RedisStore(_ServerStore):
    """State in Redis (``settings.store`` is the URL), shared by every app instance and device.

    Needs the ``redis`` package (``pip install smalldata[redis]``). Socket
    timeouts are ``settings.redis_timeout_ms`` with no retries, so a dead server
    costs one short wait per ``retry_after`` seconds, not one per request.
    """

    def __init__(self, settings: StateSettings, *, retry_after: float = 5.0) -> None:
        super().__init__(_RedisBackend(settings), settings, retry_after=retry_after)


class _MemoryBackend:
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

    async def aclose(self) -> None:
        self._items.clear()


class _RedisBackend:
    def __init__(self, settings: StateSettings) -> None:
        try:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
        except ImportError:
            raise RuntimeError(
                f"state.store {settings.store!r} needs the redis package: "
                "pip install 'smalldata[redis]'"
            ) from None

        self._url = settings.store
        self._timeout = settings.redis_timeout_ms / 1000
        self._redis_class: Any = Redis
        self._no_retry: Any = Retry(NoBackoff(), 0)
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
        return self._redis_class.from_url(
            self._url,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            retry=self._no_retry,
            health_check_interval=0,
        )

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        result: list[bytes | None] = await self._call(self._client.mget(list(keys)))
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


#: Counters of capped rules that every worker shares (``RedisStore``, ``MemoryStore``), and how
#: long each is kept: a little longer than its period; ``ever`` as long as the visitor's state.
_CAP_PREFIX = "sd:cap:"
_CAP_SECONDS = {"visit": 2 * 86_400, "day": 2 * 86_400, "week": 8 * 86_400}

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


def _link_user(state: VisitorState, user_id: str | None, record: Any) -> None:
    """Give a logged-in visitor the user's history and caps (from every device).

    While this visitor stays linked to the user, the user's record is the truth;
    when they first log in here, this device's history (the freshest) goes first.
    """
    if not user_id:
        state.user = None  # logged out: the next log-in merges this device's browsing again
        return
    user_hash = _user_hash(user_id)
    record = record if isinstance(record, dict) else {}
    history = History.from_json(record["h"], state.limits) if "h" in record else None
    caps = CapLedger.from_json(record["c"]) if "c" in record else None
    data = state.data
    if state.user == user_hash:
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


# what a server store's cookie carries besides the id: enough that an outage does not reset a visitor
_CORE = ("i", "f", "n", "p", "l", "s", "q")


def _fit(codec: CookieCodec, state: VisitorState) -> str:
    """The state as a cookie value, shedding history if it would outgrow a browser's limit."""
    value = codec.dumps(state.to_json())
    if len(value) <= MAX_COOKIE_CHARS:
        return value
    data = dict(state.to_json())
    data.pop("h", None)
    value = codec.dumps(data)
    if len(value) <= MAX_COOKIE_CHARS:
        return value
    data.pop("c", None)
    return codec.dumps(data)


def _visitor_key(visitor_id: str) -> str:
    return f"sd:v:{visitor_id}"


def _user_key(user_id: str) -> str:
    return f"sd:u:{_user_hash(user_id)}"


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
