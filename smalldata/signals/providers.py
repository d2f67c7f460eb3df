"""The built-in signal providers of one shop, wired from its settings (and any registered namespace).

Which provider answers which names is declared in each namespace module (its ``NAMESPACE``,
see :mod:`smalldata.signals.spec`); :func:`build` only makes the parts they share.

::

    providers = build(settings, sources=Sources.configured(settings.user, settings.basket, settings.signals))
    request = Request(scope, now, state=visitor_state)
    signals = RequestSignals(request, providers.map)
    signals["device.type"]                     # runs the device classifier, once

Each provider answers a group of names; the groups are split where their costs
differ (``device.type`` from ``device.os``, ``page.path`` from ``page.language``,
``visitor.returning`` from ``visitor.first_seen``), so a request pays only for the
names its rules read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from smalldata.foundation.guest import shared_pool
from smalldata.signals import basket, campaign, consent, shop, user
from smalldata.signals.catalog import BUILT_IN_NAMESPACES, fold
from smalldata.signals.client import ClientAddress
from smalldata.signals.clock import system_clock
from smalldata.signals.request import ProviderMap, Request, RequestSignals
from smalldata.signals.spec import Namespace, Parts

if TYPE_CHECKING:
    from smalldata.signals.config import SignalSettings
    from smalldata.signals.sources import Sources
    from smalldata.state.model import VisitorState

__all__ = ["Providers", "build", "register_provider", "signals_for", "unregister_provider"]

ShopProvider = Callable[[Request], Mapping[str, Any]]
"""A shop's own namespace: ``(request) -> {short name: value}`` (``{"level": 7}`` for ``stock.level``)."""

_registered: dict[str, tuple[ShopProvider, Callable[[Request], Awaitable[None]] | None,
                             Callable[[Request], bool] | None]] = {}  # fmt: skip


def register_provider(
    namespace: str,
    provider: ShopProvider,
    prefetch: Callable[[Request], Awaitable[None]] | None = None,
    *,
    needed: Callable[[Request], bool] | None = None,
) -> None:
    """Add a namespace of the shop's own to every :func:`build` from now on.

    ``provider(request)`` answers ``{short name: value}``; ``prefetch(request)``,
    when given, is awaited first (in parallel with the other namespaces' remote
    calls) and may leave data in ``request.prefetched``; ``needed(request)`` says
    cheaply whether there is anything to prefetch (without it, the prefetch always runs).
    """
    _registered[namespace] = (provider, prefetch, needed)


def unregister_provider(namespace: str) -> None:
    """Forget a namespace added with :func:`register_provider` (tests)."""
    _registered.pop(namespace, None)


@dataclass(frozen=True)
class Providers:
    """What the pipeline needs of the signal layer: the provider map and the parts it asks directly."""

    map: ProviderMap
    users: user.Users
    consent: consent.Consent
    campaign: campaign.CampaignSignals
    client: ClientAddress


def build(settings: SignalSettings, *, sources: Sources | None = None,
          namespaces: Iterable[Namespace] = BUILT_IN_NAMESPACES) -> Providers:
    """The providers of a shop with these settings; ``sources`` are its remote HTTP sources;
    ``namespaces`` the declared built-in ones (a test adds one of its own)."""
    client = ClientAddress(settings.trusted_proxies)
    pool = sources.pool if sources is not None else shared_pool()  # threads for the shop's functions
    users = user.Users(settings.user, sources.profile if sources is not None else None, pool)
    baskets = basket.Baskets(settings.basket, users, sources.basket if sources is not None else None, pool)
    consents = consent.Consent(settings.consent)
    campaigns = campaign.CampaignSignals(settings.campaign)
    providers = ProviderMap(fold=fold)
    parts = Parts(settings, client, users, baskets, consents, campaigns)
    for built_in in namespaces:  # each module declares its providers beside its signals
        for group in built_in.groups:
            providers.add(group.names, group.provider(parts), group=built_in.name, vary=group.vary)
        if built_in.stored:
            providers.stored.add(built_in.name)
        fetch = built_in.prefetch(parts) if built_in.prefetch is not None else None
        if fetch is not None:
            providers.add_prefetch(built_in.name, *fetch)
    add = providers.add
    for namespace, declared in settings.signals.items():  # the shop's own fields (smalldata.yaml, ``signals:``)
        if namespace == "user":
            fields = shop.UserFields(declared.fields, settings.zone, users)
            add(fields.names, fields.signals, group="user")
            continue
        remote = sources.declared.get(namespace) if sources is not None else None
        own = shop.DeclaredNamespace(namespace, declared, settings.zone, users, remote, pool)
        add(own.names, own.signals, group=namespace)
        if own.fetches:
            providers.add_prefetch(namespace, own.prefetch, own.needed)
    for namespace, (provider, prefetch, needed) in _registered.items():
        providers.add_namespace(namespace, _full_names(namespace, provider))
        if prefetch is not None:
            providers.add_prefetch(namespace, prefetch, needed)
    return Providers(providers, users, consents, campaigns, client)


def _full_names(namespace: str, provider: ShopProvider) -> Callable[[Request, RequestSignals], Mapping[str, Any]]:
    prefix = namespace + "."

    def full(request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        return {prefix + name: value for name, value in provider(request).items()}

    return full


def signals_for(
    scope: dict[str, Any],
    settings: SignalSettings,
    *,
    now: datetime | None = None,
    overrides: Mapping[str, Any] | None = None,
    visitor: VisitorState | None = None,
    sources: Sources | None = None,
) -> RequestSignals:
    """The lazy signals of one request, outside the middleware (``smalldata try``, tests).

    A naive ``now`` is wall time in the shop's time zone; ``visitor`` is the visitor's
    state (None: no storage consent).
    """
    moment = now or system_clock()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.zone)
    request = Request(scope, moment.astimezone(settings.zone), state=visitor, sources=sources)
    return RequestSignals(request, build(settings, sources=sources).map, overrides)
