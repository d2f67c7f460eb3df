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
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from starlette.requests import Request as StarletteRequest

from smalldata.foundation.asgi import Cookies, parse_cookies, query_params, raw_headers

if TYPE_CHECKING:
    from smalldata.signals.sources import Sources
    from smalldata.state.model import VisitorState

logger = logging.getLogger("smalldata.signals")


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

    def for_shop(self) -> StarletteRequest:
        """The request as the shop's own functions receive it (``docs/shop-code.md``): a Starlette
        ``Request`` on the raw scope, made once per request and shared by them all."""
        made = self.memo.get("shop.request")
        if made is None:
            made = self.memo["shop.request"] = StarletteRequest(self.scope)  # type: ignore[arg-type]
        return made

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
            self._overrides = providers.fold(overrides)
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
        """The values given up front, which win over computed ones (folded, see ``ProviderMap.fold``)."""
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

    def __init__(self, fold: Callable[[Mapping[str, Any]], dict[str, Any]] = dict) -> None:
        self.fold = fold  # how given values are read (smalldata.signals.catalog.fold: a mapping's fields into it)
        self.by_name: dict[str, Provider] = {}
        self._by_namespace: dict[str, Provider] = {}
        self._groups: dict[Provider, str] = {}
        self._names: dict[str, tuple[str, ...]] = {}
        self._prefetch: dict[str, tuple[Prefetcher, Callable[[Request], bool] | None]] = {}
        self._vary: dict[str, tuple[str, ...]] = {}
        #: namespaces read from the visitor's stored state (a page reading them varies on ``Sec-GPC``)
        self.stored: set[str] = set()

    def add(self, names: Iterable[str], provider: Provider, *, group: str, vary: tuple[str, ...] = ()) -> None:
        """``provider`` answers ``names`` (full names); ``group`` names it in logs and ``computed``;
        ``vary`` are the request headers it computes them from."""
        for name in names:
            self.by_name[name] = provider
            namespace = name.partition(".")[0]
            self._names[namespace] = (*self._names.get(namespace, ()), name)
            if vary:
                self._vary[name] = vary
        self._groups[provider] = group

    def vary(self, names: Collection[str]) -> tuple[str, ...]:
        """The request headers the values of ``names`` are computed from (for a page's ``Vary``)."""
        headers: dict[str, None] = {}
        for name, sent in self._vary.items():
            if name in names:
                headers.update(dict.fromkeys(sent))
        return tuple(headers)

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
