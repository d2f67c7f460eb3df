"""The built-in signal providers of one shop, wired from its settings (and any registered namespace).

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

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from smalldata.guest import GuestPool
from smalldata.signals import basket, campaign, clock, consent, device, geo, history, page, shop, user, visitor
from smalldata.signals.client import ClientAddress
from smalldata.signals.clock import system_clock
from smalldata.signals.request import ProviderMap, Request, RequestSignals

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


def build(settings: SignalSettings, *, sources: Sources | None = None) -> Providers:
    """The providers of a shop with these settings; ``sources`` are its remote HTTP sources."""
    client = ClientAddress(settings.trusted_proxies)
    pool = sources.pool if sources is not None else GuestPool()  # the threads of the shop's own functions
    users = user.Users(settings.user, sources.profile if sources is not None else None, pool)
    baskets = basket.Baskets(settings.basket, users, sources.basket if sources is not None else None, pool)
    consents = consent.Consent(settings.consent)
    campaigns = campaign.CampaignSignals(settings.campaign)
    providers = ProviderMap()
    add = providers.add
    add(clock.NAMES, clock.TimeSignals(settings, settings.calendar), group="time")
    add(page.PATH_NAMES, page.PathSignals(settings.page), group="page")
    add(("page.language",), page.LanguageSignal(settings.languages), group="page")
    add(page.REQUEST_NAMES, page.request_signals, group="page")
    add(campaign.NAMES, campaigns, group="campaign")
    add(device.TYPE_NAMES, device.TYPES, group="device")
    add(device.SOFTWARE_NAMES, device.SOFTWARE, group="device")
    add(geo.NAMES, geo.GeoSignals(settings.geo, client), group="geo")
    add(geo.STORE_NAMES, geo.NearestStore(settings.stores, settings), group="geo")
    add(user.NAMES, users.signals, group="user")
    if users.fetches:  # the shop's function or a CRM: something to await before deciding
        providers.add_prefetch("user", users.prefetch, None)
    add(basket.NAMES, baskets.signals, group="basket")
    if baskets.fetches:
        providers.add_prefetch("basket", baskets.prefetch, None)
    add(visitor.NAMES, visitor.visitor_signals, group="visitor")
    add(visitor.GAP_NAMES, visitor.visit_gap_signal, group="visitor")
    add(visitor.TIME_NAMES, visitor.visitor_times, group="visitor")
    add(history.NAMES, history.history_signals, group="history")
    add(consent.NAMES, consents.signals, group="consent")
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
