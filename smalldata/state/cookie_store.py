"""The default store: the visitor's whole state in one signed cookie (no server, any number of workers).

Server stores use it too, for the cookie they write beside the server's record: the
signed id, the visit and cap counters (:meth:`CookieStore.core_cookie`), or the whole
state while the server is away (:meth:`CookieStore.state_cookie`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from smalldata.foundation.asgi import Cookies
from smalldata.state.caps import CapClaim
from smalldata.state.codec import MAX_COOKIE_CHARS, CookieCodec, cookie_header
from smalldata.state.config import StateSettings
from smalldata.state.model import VisitorState, is_visitor_id

__all__ = ["CookieStore"]


# what a server store's cookie carries besides the id: enough that an outage does not reset a visitor,
# and the cap counters (a few dozen bytes a capped rule), so the state it decides from during one has
# capped what the visitor already had: a store that cannot count a showing grants it (``claim``)
_CORE = ("i", "f", "n", "p", "l", "s", "q", "c")


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

    def first_seen(self, cookies: Mapping[str, str]) -> int | None:
        data = self.read_cookie(cookies)
        first = data.get("f") if data else None
        return first if type(first) is int else None

    async def claim(self, state: VisitorState, claims: Sequence[CapClaim]) -> list[bool]:
        # Nothing is shared between the responses to one cookie but the browser: the client
        # script keeps an invitation's cap there (the payload carries the cap and its period).
        return [True] * len(claims)

    async def release(self, state: VisitorState, claims: Sequence[CapClaim]) -> None:
        return None

    async def once(self, name: str, seconds: int) -> bool | None:
        return None  # no server every worker shares: the caller keeps its own memory

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
        """A ``Set-Cookie`` for server stores: the visitor id, visit and cap counters, marked ``k`` (no history)."""
        data = state.to_json()
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
