"""``RequestSignals``: one request's signals, computed lazily, one namespace at a time.

The engine asks ``get("device.type")``; the first read of any ``device.*`` name
runs the device provider once and keeps its dict for the rest of the request.
Namespaces nobody reads are never computed, so a ruleset without ``device.*``
rules never parses a User-Agent, and one without ``user.*`` never calls the CRM
(``prefetch`` is only awaited for the namespaces the ruleset reads).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from smalldata.settings import Settings
from smalldata.signals.catalog import SIGNALS, resolve
from smalldata.signals.clock import system_clock
from smalldata.signals.context import RequestContext

if TYPE_CHECKING:
    from smalldata.sources import Sources

logger = logging.getLogger("smalldata.signals")

Provider = Callable[[RequestContext], Mapping[str, Any]]
"""Computes one namespace: returns ``{short name: value}`` (``{"hour": 14, ...}``)."""

Prefetcher = Callable[[RequestContext], Awaitable[None]]
"""Awaits a namespace's remote data into ``ctx.prefetched`` before the sync providers run."""

_EMPTY: Mapping[str, Any] = {}

_providers: dict[str, Provider] = {}
_prefetchers: dict[str, Prefetcher] = {}
_prefetch_needed: dict[str, Callable[[RequestContext], bool]] = {}


def register_provider(
    namespace: str,
    provider: Provider,
    prefetch: Prefetcher | None = None,
    *,
    needed: Callable[[RequestContext], bool] | None = None,
) -> None:
    """Plug a namespace's provider (and optional async prefetch) into every ``RequestSignals``.

    ``needed(ctx)``, when given, says cheaply whether this request has anything to
    prefetch; without it the prefetch always runs.
    """
    _providers[namespace] = provider
    if prefetch is not None:
        _prefetchers[namespace] = prefetch
        if needed is not None:
            _prefetch_needed[namespace] = needed
        else:
            _prefetch_needed.pop(namespace, None)


def default_providers() -> dict[str, Provider]:
    """The registered providers, loading the built-in ones on first use."""
    if not _providers:
        _register_builtins()
    return _providers


def _register_builtins() -> None:
    from smalldata.signals import basket, campaign, clock, device, geo, page, user

    register_provider("time", clock.time_signals)
    register_provider("page", page.page_signals)
    register_provider("campaign", campaign.campaign_signals)
    register_provider("device", device.device_signals)
    register_provider("geo", geo.geo_signals)
    register_provider("user", user.user_signals, user.prefetch_user, needed=user.prefetch_needed)
    register_provider("basket", basket.basket_signals, basket.prefetch_basket, needed=basket.prefetch_needed)
    _register_state_providers()


def _register_state_providers() -> None:
    """``visitor``, ``history`` and ``consent`` come from the state package's pure functions."""
    try:
        from smalldata.signals.consent import consent_values
        from smalldata.signals.history import history_values
        from smalldata.signals.visitor import visitor_values
    except ImportError:  # pragma: no cover - the state package is not there yet
        logger.debug("visitor/history/consent providers not available")
        return

    # the *_values functions answer with short names already: no second dict per request
    def visitor(ctx: RequestContext) -> Mapping[str, Any]:
        return visitor_values(ctx.visitor, ctx.now)

    def history(ctx: RequestContext) -> Mapping[str, Any]:
        return history_values(ctx.visitor)

    def consent(ctx: RequestContext) -> Mapping[str, Any]:
        return consent_values(ctx.headers, ctx.cookies, ctx.settings.consent)

    register_provider("visitor", visitor)
    register_provider("history", history)
    register_provider("consent", consent)


@lru_cache(maxsize=64)
def _base_names(namespace: str) -> frozenset[str]:
    """Names a namespace answers (``geo.nearest_store.name`` is a field of ``geo.nearest_store``)."""
    return frozenset(name for name in SIGNALS if name.startswith(namespace + ".") and name.count(".") == 1)


class RequestSignals:
    """A lazy, read-only view of one request's signals (the engine's ``Signals``).

    ``overrides`` (``{"geo.country": "DK"}``, from ``smalldata try --set`` or a
    preview) win over computed values; a namespace whose every signal is
    overridden is never computed.
    """

    def __init__(
        self,
        ctx: RequestContext,
        *,
        overrides: Mapping[str, Any] | None = None,
        providers: Mapping[str, Provider] | None = None,
    ) -> None:
        self.ctx = ctx
        self._seen = _Reads(ctx, providers if providers is not None else default_providers(), _fold(overrides or {}))
        self._providers = self._seen.providers
        self._values = self._seen.namespaces
        self._overrides = self._seen.overrides
        self._computed = self._seen.computed
        # reads go straight to the dict's C lookup; only a first read runs Python (_Reads.__missing__)
        self.get = self._seen.__getitem__  # type: ignore[method-assign, assignment]

    @property
    def computed(self) -> tuple[str, ...]:
        """The namespaces whose provider ran, in the order they ran."""
        return tuple(self._computed)

    def get(self, name: str) -> Any:
        """The value of a base signal name, or None when unknown."""
        return self._seen[name]  # each instance reads its dict directly (see __init__)

    def namespace(self, namespace: str) -> dict[str, Any]:
        """Every signal of one namespace as ``{full name: value}`` (overrides applied)."""
        return {name: self.get(name) for name in sorted(_base_names(namespace))}

    async def prefetch(self, namespaces: Iterable[str]) -> None:
        """Await the remote data of ``namespaces`` (user profile, basket service) in parallel.

        Call it with the namespaces the ruleset reads; the others are never fetched.
        A failing or slow source leaves its signals unknown; this never raises.
        """
        ctx = self.ctx
        wanted = [
            _prefetchers[namespace]
            for namespace in dict.fromkeys(namespaces)
            if namespace in _prefetchers
            and namespace in self._providers
            and namespace not in self._values
            and not self._fully_overridden(namespace)
            and _prefetch_wanted(namespace, ctx)
        ]
        if not wanted:  # nothing remote to wait for: no coroutine, no task (~20 µs saved per page)
            return
        # first who the user is (an async callable): the basket service may be keyed by the user's id
        from smalldata.signals.user import resolve_identity

        await _quietly(resolve_identity(ctx))
        if len(wanted) == 1:
            await _quietly(wanted[0](ctx))
        else:
            await asyncio.gather(*(_quietly(prefetcher(ctx)) for prefetcher in wanted))

    def _compute(self, namespace: str) -> Mapping[str, Any]:
        return compute_namespace(self._seen, namespace)

    def _fully_overridden(self, namespace: str) -> bool:
        return _fully_overridden(self._overrides, namespace)


class _Reads(dict[str, Any]):
    """One request's signal values by name, each read once on first use and kept.

    The engine reads the same few dozen names once per rule. Kept in a dict
    subclass, a repeated read is the dict's own lookup, and only a first read
    (``__missing__``) runs Python. It holds what a first read needs rather than
    the :class:`RequestSignals`, so no reference cycle outlives the request.
    """

    def __init__(self, ctx: RequestContext, providers: Mapping[str, Provider], overrides: dict[str, Any]) -> None:
        super().__init__()
        self.ctx = ctx
        self.providers = providers
        self.overrides = overrides
        self.namespaces: dict[str, Mapping[str, Any]] = {}
        self.computed: list[str] = []

    def __missing__(self, name: str) -> Any:
        if self.overrides and name in self.overrides:
            value = self.overrides[name]
        else:
            namespace, _, key = name.partition(".")
            values = self.namespaces.get(namespace)
            if values is None:
                values = compute_namespace(self, namespace)
            value = values.get(key)
        self[name] = value
        return value


def compute_namespace(reads: _Reads, namespace: str) -> Mapping[str, Any]:
    """Run one namespace's provider for the request (once); its signals, or none when it fails."""
    provider = reads.providers.get(namespace)
    values: Mapping[str, Any] = _EMPTY
    if provider is not None and not (reads.overrides and _fully_overridden(reads.overrides, namespace)):
        reads.computed.append(namespace)
        try:
            values = provider(reads.ctx)
        except Exception:  # a provider bug must not break the page: its signals become unknown
            logger.exception("signal provider %r failed", namespace)
    reads.namespaces[namespace] = values
    return values


def _fully_overridden(overrides: Mapping[str, Any], namespace: str) -> bool:
    names = _base_names(namespace)
    return bool(names) and names <= overrides.keys()


def _prefetch_wanted(namespace: str, ctx: RequestContext) -> bool:
    needed = _prefetch_needed.get(namespace)
    if needed is None:
        return True
    try:
        return needed(ctx)
    except Exception:  # a broken check must not skip the data: prefetch as before
        logger.exception("prefetch check for %r failed", namespace)
        return True


async def _quietly(job: Awaitable[None]) -> None:
    try:
        await job
    except Exception:
        logger.exception("prefetching signals failed")


def _fold(overrides: Mapping[str, Any]) -> dict[str, Any]:
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


def signals_for(
    scope: dict[str, Any],
    settings: Settings,
    *,
    now: datetime | None = None,
    overrides: Mapping[str, Any] | None = None,
    visitor: Any = None,
    sources: Sources | None = None,
) -> RequestSignals:
    """The lazy signals of one request. A naive ``now`` is wall time in the shop's time zone."""
    if now is None:
        now = system_clock()
    elif now.tzinfo is None:
        now = now.replace(tzinfo=settings.zone)
    ctx = RequestContext(scope, settings, now=now, visitor=visitor, sources=sources)
    return RequestSignals(ctx, overrides=overrides)
