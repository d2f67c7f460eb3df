"""Response headers for personalised pages: never let a shared cache keep one visitor's page.

A page that carries a visitor's payload or cookie must be ``private``: a CDN or
proxy may not store it, while the visitor's own browser still may, within what
the app allowed. Directives the app set that are stricter (``no-store``,
``no-cache``, ``max-age``) stay; ``public`` and ``s-maxage`` (shared-cache only)
go. ``Vary`` names every request header the page depended on, once each.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import overload

from starlette.types import Message

from smalldata.foundation.asgi import lower_case_names

NO_STORE = "private, no-store"

# Directives that only make sense for shared caches, or contradict "private".
_SHARED_ONLY = {"public", "s-maxage", "proxy-revalidate", "private"}


class ResponseHeaders:
    """The headers of one ``http.response.start`` message, edited in place, names in any case.

    The part of :class:`~starlette.datastructures.MutableHeaders` the middleware
    uses, for its per-page path: the raw list is read once into a dict of each
    name's first value, so a lookup, or setting a header the response does not
    have yet, does not walk (and re-encode names against) the whole list each
    time. Lookups take any case. ASGI asks for lower-case names, but Django (and
    others, such as prometheus-client) send them as written (``Content-Type``):
    those keep their spelling, and so do the values we replace in them; headers
    we add are lower-case.
    """

    __slots__ = ("_first", "_mixed", "raw")

    def __init__(self, message: Message) -> None:
        raw: list[tuple[bytes, bytes]] = list(message.get("headers") or ())
        message["headers"] = self.raw = raw
        first: dict[bytes, bytes] = dict(reversed(raw))  # the first value of each name wins
        self._mixed = mixed = bool(first) and not lower_case_names(first)
        if mixed:
            first = {name.lower(): value for name, value in reversed(raw)}
        self._first = first

    @overload
    def get(self, key: str) -> str | None: ...

    @overload
    def get(self, key: str, default: str) -> str: ...

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key``, else ``default``."""
        value = self._first.get(_name(key))
        return default if value is None else value.decode("latin-1")

    def first(self, name: bytes) -> bytes | None:
        """The first raw value of the header ``name`` (given in lower case), if any (no decoding)."""
        return self._first.get(name)

    def getlist(self, key: str) -> list[str]:
        """Every value of ``key``, in order."""
        name = _name(key)
        if name not in self._first:
            return []
        if self._mixed:
            return [value.decode("latin-1") for item, value in self.raw if item.lower() == name]
        return [value.decode("latin-1") for item, value in self.raw if item == name]

    def __contains__(self, key: str) -> bool:
        return _name(key) in self._first

    def __setitem__(self, key: str, value: str) -> None:
        """Set ``key`` to ``value`` where it first was (others of that name go), else at the end."""
        self.set(_name(key), value.encode("latin-1"))

    def set(self, name: bytes, value: bytes) -> None:
        """``headers[name] = value`` for a lower-case raw ``name`` and raw ``value``."""
        raw = self.raw
        first = self._first.get(name)
        self._first[name] = value
        if first is None:
            raw.append((name, value))
            return
        if not self._mixed:
            at = raw.index((name, first))  # the first pair with this name is the one holding its first value
            raw[at] = (name, value)
            if len(raw) > len(self._first):  # some name is there more than once: drop this one's later values
                raw[at + 1 :] = [item for item in raw[at + 1 :] if item[0] != name]
            return
        at = next(i for i, item in enumerate(raw) if item[0].lower() == name)
        raw[at] = (raw[at][0], value)  # the app's spelling of the name stays
        if len(raw) > len(self._first):
            raw[at + 1 :] = [item for item in raw[at + 1 :] if item[0].lower() != name]

    def __delitem__(self, key: str) -> None:
        name = _name(key)
        if self._first.pop(name, None) is not None:
            if self._mixed:
                self.raw[:] = [item for item in self.raw if item[0].lower() != name]
            else:
                self.raw[:] = [item for item in self.raw if item[0] != name]

    def append(self, key: str, value: str) -> None:
        """Add a header after the others, keeping those of the same name."""
        self.add(_name(key), value.encode("latin-1"))

    def add(self, name: bytes, value: bytes) -> None:
        """``append`` for a lower-case raw ``name`` and raw ``value``."""
        self.raw.append((name, value))
        self._first.setdefault(name, value)


# The names smalldata itself reads and writes, encoded once: lower-casing and
# encoding a name costs more than the dict lookup it is for.
_NAMES = {
    spelling: name.encode("latin-1")
    for name in (
        "cache-control", "content-disposition", "content-encoding", "content-length", "content-security-policy",
        "content-type", "etag", "set-cookie", "vary",
    )
    for spelling in (name, "-".join(part.capitalize() for part in name.split("-")))
}  # fmt: skip
_NAMES["ETag"] = b"etag"


def _name(key: str) -> bytes:
    return _NAMES.get(key) or key.lower().encode("latin-1")


# Cache directives for shared caches only, which win over Cache-Control there (RFC 9213 and the CDNs' own):
# a private response must not carry them.
SHARED_CACHE_HEADERS = ("cdn-cache-control", "surrogate-control", "cloudflare-cdn-cache-control", "edge-control",
                        "x-accel-expires")  # fmt: skip
_SHARED_CACHE_NAMES = tuple(name.encode("latin-1") for name in SHARED_CACHE_HEADERS)


def make_private(headers: ResponseHeaders) -> None:
    """Mark a response as for this visitor only, keeping the app's stricter directives.

    Headers that address shared caches alone (``CDN-Cache-Control``, ``Surrogate-Control``, …) go:
    a CDN obeys them over ``Cache-Control`` and would store the page.
    """
    for name in _SHARED_CACHE_NAMES:
        if headers.first(name) is not None:
            del headers[name.decode("latin-1")]
    current = headers.first(b"cache-control")
    if not current:
        headers.set(b"cache-control", b"private")  # the usual page: nothing to keep
        return
    kept = [
        directive
        for directive in _directives(current.decode("latin-1"))
        if directive.partition("=")[0].strip().lower() not in _SHARED_ONLY
    ]
    headers["Cache-Control"] = ", ".join(["private", *kept])


def make_uncacheable(headers: ResponseHeaders) -> None:
    """No cache may keep this response, not even the visitor's browser (previews, ``/decide``)."""
    headers.set(b"cache-control", NO_STORE.encode())


def add_vary(headers: ResponseHeaders, names: tuple[str, ...]) -> None:
    """Add request header names to ``Vary``, de-duplicated case-insensitively, keeping order."""
    if headers.first(b"vary") is None:
        joined = _vary_value(names)  # the usual page: the app varies on nothing itself
        if joined is not None:
            headers.set(b"vary", joined)
        return
    current = [name for value in headers.getlist("vary") for name in _directives(value)]
    if "*" in current:
        return  # already varies on everything
    seen = {name.lower() for name in current}
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            current.append(name)
    if current:
        headers["Vary"] = ", ".join(current)


@lru_cache(maxsize=64)
def _vary_value(names: tuple[str, ...]) -> bytes | None:
    """``names`` once each (case-insensitively), in order, or None for none.

    Cached: every page repeats one of a few lists (the ruleset's, with or without ``Cookie``).
    """
    seen: set[str] = set()
    kept = []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            kept.append(name)
    return ", ".join(kept).encode("latin-1") if kept else None


def weaken_etag(headers: ResponseHeaders) -> None:
    """Turn a strong ETag into a weak one: the bytes changed, the meaning did not."""
    etag = headers.first(b"etag")
    if etag and not etag.startswith(b"W/"):
        headers.set(b"etag", b"W/" + etag)


def append_cookies(headers: ResponseHeaders, cookies: Iterable[str]) -> None:
    """Add ``Set-Cookie`` lines after the app's own, never replacing them."""
    for cookie in cookies:
        headers.add(b"set-cookie", cookie.encode("latin-1"))


def _directives(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
