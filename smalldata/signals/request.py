"""One request's signals: a dict of dotted names whose values are worked out the first time they are read.

:class:`Request` is what providers read about the request (headers, cookies, the
query string, the client address, the visitor's state), each parsed on first use.
:class:`RequestSignals` is a ``dict`` of ``"device.type"``-style names: reading a name it
does not hold yet runs the one provider that answers it, which fills in its whole
group of names at once; every later read is a plain dict lookup. A ruleset that
never reads ``device.*`` never touches the User-Agent, and one that reads only
``device.type`` never pays for a full browser and OS parse.

A provider is a callable ``(request, signals) -> {full name: value}``; built-in ones
come from :mod:`smalldata.signals.providers`, and :func:`register_provider` adds a
namespace of a shop's own.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from smalldata.signals.catalog import resolve

if TYPE_CHECKING:
    from smalldata.sources import Sources
    from smalldata.state.model import VisitorState

logger = logging.getLogger("smalldata.signals")

MAX_COOKIE_HEADER = 65_536  # past what servers accept by default, so our cookie is never cut off
MAX_QUERY_FIELDS = 64
MAX_QUERY_VALUE = 512
MAX_QUERY_STRING = 8_192

Provider = Callable[["Request", "RequestSignals"], Mapping[str, Any]]
"""Computes a group of signals: returns ``{full name: value}`` (``{"time.hour": 14, ...}``)."""

Prefetcher = Callable[["Request"], Awaitable[None]]
_NOTHING: Mapping[str, Any] = {}
"""Awaits remote data into ``request.prefetched`` before the (sync) providers run."""


class Request:
    """One request as signal providers see it; everything is parsed on first use.

    ``now`` is the moment of the request in the shop's time zone ``zone`` (converted
    when first asked; ``epoch`` is the same moment in whole seconds since 1970); ``state`` is the
    visitor's stored state, or None when there is none (no storage consent);
    ``sources`` are the remote HTTP sources shared by all requests; ``prefetched``
    holds what the prefetchers awaited for this request, and ``memo`` what providers
    worked out that others reuse (the client address, the logged-in user).
    """

    __slots__ = ("_cookies", "_moment", "_now", "_query", "_raw", "_zone", "epoch", "memo", "prefetched", "scope",
                 "sources", "state")  # fmt: skip

    def __init__(self, scope: Mapping[str, Any], now: datetime, *, zone: tzinfo | None = None,
                 state: VisitorState | None = None, sources: Sources | None = None) -> None:
        self.scope = scope
        self._moment = now
        self._zone = zone
        self._now: datetime | None = now if zone is None else None
        self.epoch = int(now.timestamp())  # whole seconds, as visitor state counts them
        self.state = state
        self.sources = sources
        self.prefetched: dict[str, Any] = {}
        self.memo: dict[str, Any] = {}
        self._raw: dict[bytes, bytes] | None = None
        self._cookies: Cookies | None = None
        self._query: dict[str, str] | None = None

    @property
    def now(self) -> datetime:
        """The moment of the request, in the shop's time zone."""
        now = self._now
        if now is None:
            now = self._now = self._moment.astimezone(self._zone)
        return now

    def header(self, name: bytes) -> str | None:
        """The value of the lower-case header ``name`` (latin-1), repeated ones joined; None when absent."""
        raw = self._raw
        if raw is None:
            raw = self._raw = raw_headers(self.scope.get("headers") or ())
        value = raw.get(name)
        return value.decode("latin-1") if type(value) is bytes else None

    @property
    def cookies(self) -> Cookies:
        """The request's cookies; malformed ones are skipped, never an error."""
        if self._cookies is None:
            self._cookies = parse_cookies(self.header(b"cookie") or "")
        return self._cookies

    @property
    def query(self) -> dict[str, str]:
        """The first value of each query parameter (bounded in number and length)."""
        if self._query is None:
            raw = self.scope.get("query_string") or b""
            self._query = query_params(raw) if raw else {}  # most pages have no query string
        return self._query


class RequestSignals(dict[str, Any]):
    """A lazy, read-only view of one request's signals, by full name (``signals["geo.country"]``).

    Reading a missing name runs its provider once (see the module docstring);
    ``get`` does the same for code that prefers a method. Unknown names read as
    None. ``overrides`` (``{"geo.country": "DK"}``, from ``smalldata try --set`` or a
    preview) win over computed values; a group whose every name is overridden is
    never computed. A provider that fails is logged and its names read as None.
    """

    __slots__ = ("_by_name", "_overrides", "_ran", "providers", "request")

    def __init__(self, request: Request, providers: ProviderMap, overrides: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.request = request
        self.providers = providers
        self._by_name = providers.by_name
        self._ran: list[Provider] = []
        self._overrides: dict[str, Any] | None = None
        if overrides:
            self._overrides = fold(overrides)
            self.update(self._overrides)

    def __missing__(self, name: str) -> Any:
        # the first read of a name runs its provider, which answers its whole group: later reads are dict hits
        provider = self._by_name.get(name)
        if provider is None:
            provider = self.providers.find(name)
            if provider is None:
                self[name] = None
                return None
        self._ran.append(provider)
        try:
            values = provider(self.request, self)
        except Exception:  # a provider bug must not break the page: its signals become unknown
            logger.exception("signal provider %r failed", self.providers.group(provider))
            values = _NOTHING
        if self._overrides is not None:
            values = {key: value for key, value in values.items() if key not in self._overrides}
        self.update(values)
        value = values.get(name)
        if value is None and name not in values:
            self[name] = None  # a name its provider does not answer is unknown (and not asked again)
        return value

    @property
    def computed(self) -> tuple[str, ...]:
        """The groups whose provider ran (``"page"``, ``"device"``, ...), in the order they first ran."""
        return tuple(dict.fromkeys(self.providers.group(provider) for provider in self._ran))

    def get(self, name: str, default: Any = None) -> Any:
        """The value of a signal, or ``default`` when it is unknown."""
        value = self[name]
        return default if value is None else value

    @property
    def overrides(self) -> dict[str, Any]:
        """The values given up front, which win over computed ones (folded, see :func:`fold`)."""
        return self._overrides or {}

    def namespace(self, namespace: str) -> dict[str, Any]:
        """Every catalogue signal of one namespace as ``{full name: value}``."""
        return {name: self[name] for name in self.providers.names(namespace)}

    async def prefetch(self, namespaces: Iterable[str]) -> None:
        """Await the remote data of ``namespaces`` (user profile, basket service) in parallel.

        A failing or slow source leaves its signals unknown; this never raises.
        """
        jobs = self.providers.prefetchers(namespaces, self.request, self._overrides or {})
        await run_prefetch(jobs, self.request)


async def run_prefetch(jobs: list[Prefetcher], request: Request) -> None:
    """Await ``jobs`` (in parallel when several); a failing one is logged, never raised."""
    if not jobs:  # nothing remote to wait for: no coroutine, no task
        return
    if len(jobs) == 1:
        await _quietly(jobs[0](request))
    else:
        await asyncio.gather(*(_quietly(job(request)) for job in jobs))


async def _quietly(job: Awaitable[None]) -> None:
    try:
        await job
    except Exception:
        logger.exception("prefetching signals failed")


class ProviderMap:
    """Which provider answers which signal name, and which prefetchers a namespace has.

    Built once per app (:func:`smalldata.signals.providers.build`); shared by every request.
    """

    def __init__(self) -> None:
        self.by_name: dict[str, Provider] = {}
        self._by_namespace: dict[str, Provider] = {}
        self._groups: dict[Provider, str] = {}
        self._names: dict[str, tuple[str, ...]] = {}
        self._prefetch: dict[str, tuple[Prefetcher, Callable[[Request], bool] | None]] = {}

    def add(self, names: Iterable[str], provider: Provider, *, group: str) -> None:
        """``provider`` answers ``names`` (full names); ``group`` names it in logs and ``computed``."""
        for name in names:
            self.by_name[name] = provider
            namespace = name.partition(".")[0]
            self._names[namespace] = (*self._names.get(namespace, ()), name)
        self._groups[provider] = group

    def add_namespace(self, namespace: str, provider: Provider) -> None:
        """``provider`` answers every name of ``namespace`` (a namespace of the shop's own)."""
        self._by_namespace[namespace] = provider
        self._groups[provider] = namespace

    def add_prefetch(self, namespace: str, prefetch: Prefetcher, needed: Callable[[Request], bool] | None) -> None:
        """``prefetch`` awaits ``namespace``'s remote data; ``needed(request)`` says cheaply whether there is any."""
        self._prefetch[namespace] = (prefetch, needed)

    def find(self, name: str) -> Provider | None:
        """The provider of ``name``: its own, else its namespace's (a namespace of the shop's own)."""
        provider = self.by_name.get(name)
        if provider is None and self._by_namespace:
            provider = self._by_namespace.get(name.partition(".")[0])
        return provider

    def group(self, provider: Provider) -> str:
        return self._groups.get(provider, "?")

    def names(self, namespace: str) -> tuple[str, ...]:
        return self._names.get(namespace, ())

    def fetches(self, namespace: str) -> bool:
        """Has ``namespace`` a prefetcher (something to await before the page)?"""
        return namespace in self._prefetch

    def prefetchers(self, namespaces: Iterable[str], request: Request,
                    overrides: Mapping[str, Any]) -> list[Prefetcher]:
        """The prefetchers of ``namespaces`` that have something to fetch for ``request``."""
        jobs = []
        for namespace in dict.fromkeys(namespaces):
            found = self._prefetch.get(namespace)
            if found is None or self._overridden(namespace, overrides):
                continue
            prefetch, needed = found
            if needed is None or _needed(needed, request, namespace):
                jobs.append(prefetch)
        return jobs

    def _overridden(self, namespace: str, overrides: Mapping[str, Any]) -> bool:
        names = self._names.get(namespace, ())
        return bool(names) and all(name in overrides for name in names)


def _needed(needed: Callable[[Request], bool], request: Request, namespace: str) -> bool:
    try:
        return needed(request)
    except Exception:  # a broken check must not skip the data: prefetch as before
        logger.exception("prefetch check for %r failed", namespace)
        return True


def fold(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``geo.nearest_store.name=X`` becomes ``{"geo.nearest_store": {"name": "X"}}``."""
    folded: dict[str, Any] = {}
    for name, value in overrides.items():
        ref = resolve(name)
        if ref is not None and ref.key is not None:
            mapping = dict(folded.get(ref.base) or {})
            mapping[ref.key] = value
            folded[ref.base] = mapping
        else:
            folded[name] = value
    return folded


# -- headers, cookies, query -------------------------------------------------------------------


def raw_headers(raw: Any) -> dict[bytes, bytes]:
    """ASGI header pairs as ``{name: value}``; repeated names joined (never fails).

    Names are lower-case in ASGI (servers write them so, and Starlette relies on it too).
    """
    if type(raw) is list or type(raw) is tuple:
        try:
            found = dict(raw)  # what servers send: bytes pairs, no repeated name (one C call)
        except (TypeError, ValueError):
            found = None
        if found is not None and len(found) == len(raw):
            return found
    return _headers_one_by_one(raw)


def _headers_one_by_one(raw: Iterable[Any]) -> dict[bytes, bytes]:
    """:func:`raw_headers` for repeated names and pairs that are not plain bytes."""
    result: dict[bytes, bytes] = {}
    for pair in raw:
        try:
            raw_name, raw_value = pair
            name, value = bytes(raw_name).lower(), bytes(raw_value)
        except (TypeError, ValueError):
            continue  # not bytes: a broken server or test, never the visitor's fault
        if name in result:
            value = result[name] + (b"; " if name == b"cookie" else b", ") + value
        result[name] = value
    return result


_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


class Cookies(dict[str, str]):
    """A request's cookies by name: the last value of each, as Starlette reads them.

    A name sent more than once (a cookie set for ``/`` and again for ``/shop``) keeps its
    other values in :meth:`all`, so a reader can take the one that is valid.
    """

    __slots__ = ("repeated",)

    def __init__(self) -> None:
        super().__init__()
        self.repeated: dict[str, list[str]] | None = None

    def all(self, name: str) -> list[str]:
        """Every value sent for ``name``: the one ``cookies[name]`` gives first, then the others as sent."""
        last = self.get(name)
        if last is None:
            return []
        others = self.repeated.get(name) if self.repeated else None
        return [last, *others] if others else [last]


def parse_cookies(header: str) -> Cookies:
    """Parse a ``Cookie`` header like browsers send it; bad pairs are skipped."""
    cookies = Cookies()
    for chunk in header[:MAX_COOKIE_HEADER].split(";"):
        name, sep, value = chunk.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            continue
        if value[:1] == '"':  # only a quoted value needs unquoting (most cookies are not)
            value = _unquote(value)
        if name in cookies:  # the last one wins, as in Starlette; the others stay in all()
            if cookies.repeated is None:
                cookies.repeated = {}
            cookies.repeated.setdefault(name, []).append(cookies[name])
        cookies[name] = value
    return cookies


def _unquote(value: str) -> str:
    """A quoted cookie value without its quotes and backslash escapes (``\\"``, ``\\\\``, ``\\012``)."""
    if len(value) < 2 or value[-1] != '"':
        return value
    return _ESCAPE.sub(lambda m: chr(int(m[1], 8)) if m[1] else m[2], value[1:-1])


def query_params(query_string: bytes) -> dict[str, str]:
    """The first value of each query parameter, percent-decoded, bounded in number and length."""
    text = bytes(query_string[:MAX_QUERY_STRING]).decode("latin-1")
    params: dict[str, str] = {}
    for pair in text.split("&", MAX_QUERY_FIELDS * 2)[: MAX_QUERY_FIELDS * 2]:
        key, _, value = pair.partition("=")
        if not key:
            continue
        key, value = _decode(key), _decode(value)
        if key not in params:
            params[key] = value[:MAX_QUERY_VALUE]
            if len(params) == MAX_QUERY_FIELDS:
                break
    return params


def _decode(text: str) -> str:
    from urllib.parse import unquote_plus

    # most parameters are plain words: skip the decoder for them
    if "%" in text or "+" in text:
        return unquote_plus(text, encoding="utf-8", errors="replace")
    return text


# -- building requests -------------------------------------------------------------------------


def make_scope(
    url: str = "/",
    *,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    client_ip: str | None = "127.0.0.1",
    method: str = "GET",
) -> dict[str, Any]:
    """A realistic ASGI HTTP scope for ``url`` (absolute or a path), as a server would build it.

    Used by ``smalldata try`` and tests. ``headers`` keep their order; a ``host``
    header is added from the URL when missing.
    """
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    host = parts.hostname or "localhost"
    port = parts.port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    items = list(headers.items() if isinstance(headers, Mapping) else headers or [])
    raw_headers = [(name.lower().encode("latin-1"), value.encode("latin-1", "replace")) for name, value in items]
    if not any(name == b"host" for name, _ in raw_headers):
        netloc = parts.netloc or host
        raw_headers.insert(0, (b"host", netloc.encode("idna") if not netloc.isascii() else netloc.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": scheme,
        "path": unquote(path),
        "raw_path": path.encode("latin-1", "replace"),
        "root_path": "",
        "query_string": parts.query.encode("latin-1", "replace"),
        "headers": raw_headers,
        "client": (client_ip, 50000) if client_ip else None,
        "server": (host, port),
        "state": {},
    }
