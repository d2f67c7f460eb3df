"""The composition root: settings in, the parts of a personalised app out.

This is the one place that reads :class:`~smalldata.settings.Settings` as a whole.
It builds the signal providers, the visitor store, the live rules and their
request plan, the recommender, the event log and previews, and wires them into
the three parts the middleware serves with:

- :class:`~smalldata.delivery.page.PagePersonaliser` decides for every page;
- :class:`~smalldata.delivery.client_events.EventRecorder` takes client events;
- :class:`~smalldata.delivery.health.ShopHealth` reports on all of it.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from smalldata.catalogue import FileCatalogue, open_catalogue
from smalldata.delivery.client_events import EventRecorder
from smalldata.delivery.endpoints import EventLimits
from smalldata.delivery.health import ShopHealth
from smalldata.delivery.live_rules import LiveRules
from smalldata.delivery.page import PagePersonaliser, Previews, Recommender
from smalldata.delivery.plan import RequestPlan
from smalldata.delivery.visit import ClientEvents, Health, Pages
from smalldata.events import EventLog, EventSink, make_sink
from smalldata.preview.links import preview_keys
from smalldata.recommend import CatalogueRecommender
from smalldata.rules import Ruleset
from smalldata.settings import Settings, load_settings
from smalldata.signals import providers as signal_providers
from smalldata.signals.clock import system_clock
from smalldata.signals.sources import Sources
from smalldata.state import StateStore, make_store

logger = logging.getLogger("smalldata")


@dataclass
class Parts:
    """What the middleware serves with; ``closers`` run at application shutdown."""

    pages: Pages
    events: ClientEvents
    health: Health
    counters: Counter[str] = field(default_factory=Counter)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    starters: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # run at application start-up
    health_token: str | None = None  # shows the health details to whoever sends it (see HealthSettings)
    event_limits: EventLimits = field(default_factory=EventLimits)

    async def start(self) -> None:
        """Open what the first visitor should not wait for (HTTP clients); a failure is logged, never raised."""
        await _each(self.starters, "smalldata: starting %r failed; it starts on first use instead")

    async def aclose(self) -> None:
        """Release connections and write pending events; one failure does not stop the rest."""
        await _each(self.closers, "smalldata: closing %r at shutdown failed")


@dataclass(frozen=True, slots=True)
class Overrides:
    """Parts you bring instead of those the settings would build (each optional).

    ``clock`` (a callable returning an aware ``datetime``) replaces the real clock, for tests
    and previews; ``store`` is where visitor state lives (default: from ``state:``, a signed
    cookie); ``recommender`` fills recommendation slots from your catalogue (see
    :class:`~smalldata.delivery.page.Recommender`; default: the built-in one over
    ``catalogue.path``); ``events`` is the sink for exposures and client events (default:
    from ``events:``); ``sources`` the shop's code and services the signals read.
    """

    clock: Callable[[], datetime] | None = None
    store: StateStore | None = None
    recommender: Recommender | None = None
    events: EventSink | None = None
    sources: Sources | None = None


_NONE = Overrides()


async def _each(steps: list[Callable[[], Awaitable[None]]], failed: str) -> None:
    """Run every step; one that fails is logged (``failed`` names it) and the rest still run."""
    for step in steps:
        try:
            await step()
        except Exception:
            logger.exception(failed, step)


def build(
    *,
    rules: str | Path | None = None,
    config: str | Path | None = None,
    settings: Settings | None = None,
    overrides: Overrides | None = None,
) -> Parts:
    """Load settings, rules and catalogue (raising :class:`ProblemsError` when broken) and wire the parts.

    ``settings`` are used as given, else read from ``config``. Relative paths in
    them (``catalogue.path``, the events file) start at the folder of ``config``,
    or the working directory without one. ``overrides`` replace parts the settings would
    build (see :class:`Overrides`).
    """
    if settings is None:
        settings = load_settings(config)
    base = Path(config).parent if config is not None else None
    overrides = overrides or _NONE
    clock = overrides.clock or system_clock
    sources, recommender, store, events = overrides.sources, overrides.recommender, overrides.store, overrides.events
    counters: Counter[str] = Counter()
    sources = sources if sources is not None else Sources.configured(settings.user, settings.basket, settings.signals,
                                                                       threads=settings.shop_code.threads)
    providers = signal_providers.build(settings, sources=sources)
    catalogue: FileCatalogue | None = None
    if recommender is None:
        catalogue = open_catalogue(settings.catalogue, base=base)
        recommender = CatalogueRecommender(catalogue, settings.recommender) if catalogue is not None else None
    recommends = recommender is not None

    def compile_plan(ruleset: Ruleset) -> RequestPlan:
        return RequestPlan.compile(ruleset, providers.map, recommends=recommends)

    live = LiveRules(rules if rules is not None else settings.rules, settings, compile_plan)
    store = store or make_store(settings.state)
    log = EventLog(events if events is not None else make_sink(settings.events, base=base))
    previews = None
    if settings.preview.enabled:
        previews = Previews(preview_keys(settings.preview, settings.state), settings.preview.param, counters,
                            settings.signal_catalog)
    pages = PagePersonaliser(live, providers, store, clock=clock, zone=settings.zone, events=log, counters=counters,
                             recommender=recommender, previews=previews, sources=sources)  # fmt: skip
    recorder = EventRecorder(store, providers.consent, log, clock=clock, zone=settings.zone, client=providers.client,
                             cookie=settings.state.cookie, established_seconds=settings.events.established_minutes * 60)
    closers: list[Callable[[], Awaitable[None]]] = [live.stop, store.aclose, log.aclose, sources.aclose]
    starters: list[Callable[[], Awaitable[None]]] = [sources.start, live.start]
    if isinstance(recommender, CatalogueRecommender):
        closers.append(recommender.aclose)
        starters.append(recommender.start)
    token = settings.health.token.get_secret_value() if settings.health.token else None
    token = token or os.environ.get("SMALLDATA_HEALTH_TOKEN") or None
    server_token = settings.events.server_token.get_secret_value() if settings.events.server_token else None
    limits = EventLimits(per_second=settings.events.per_second, max_value=settings.events.max_value,
                         browser_conversions=settings.events.browser_conversions,
                         server_token=server_token or os.environ.get("SMALLDATA_CONVERSIONS_TOKEN") or None)
    return Parts(pages, recorder, ShopHealth(live, log, catalogue), counters, closers, starters,
                 health_token=token, event_limits=limits)  # fmt: skip
