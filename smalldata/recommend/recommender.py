"""The recommender: :class:`CatalogueRecommender` fills recommendation slots from the catalogue
or a remote service (the package docstring, :mod:`smalldata.recommend`, says what every slot gets)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from smalldata.catalogue import Catalogue, MemoryCatalogue, Product
from smalldata.decision import Decision, Recommendation
from smalldata.recommend.config import RecommenderSettings
from smalldata.recommend.context import Shopper
from smalldata.recommend.remote import RemoteRecommender
from smalldata.recommend.select import cards, excluded_ids, pick
from smalldata.recommend.strategies import LOCAL
from smalldata.signals.base import Signals

logger = logging.getLogger("smalldata.recommend")


def recommend_local(
    catalogue: Catalogue,
    shopper: Shopper,
    strategy: str,
    *,
    limit: int,
    exclude: list[str] | tuple[str, ...] = (),
    category: str | None = None,
    fallback: str | None = None,
) -> list[Product]:
    """The products of a local strategy (plus ``fallback`` when it comes up short). Pure and sync."""
    excluded = excluded_ids(shopper, exclude)
    chosen = pick(LOCAL[strategy](catalogue, shopper, category), excluded, limit)
    return _fill(chosen, catalogue, shopper, fallback, strategy, category, excluded, limit)


def _fill(
    chosen: list[Product],
    catalogue: Catalogue,
    shopper: Shopper,
    fallback: str | None,
    strategy: str,
    category: str | None,
    excluded: set[str],
    limit: int,
) -> list[Product]:
    if len(chosen) >= limit or fallback is None or fallback == strategy or fallback not in LOCAL:
        return chosen
    more = LOCAL[fallback](catalogue, shopper, category)
    return pick([*chosen, *more], excluded, limit)


class CatalogueRecommender:
    """Fills recommendation slots for one app; holds the remote client, its cache and breaker.

    ``catalogue`` may be any :class:`~smalldata.catalogue.Catalogue`; a
    :class:`~smalldata.catalogue.FileCatalogue` is re-read when its file changes.
    """

    def __init__(
        self,
        catalogue: Catalogue | None,
        settings: RecommenderSettings | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalogue: Catalogue = catalogue if catalogue is not None else MemoryCatalogue()
        self.settings = settings or RecommenderSettings()
        self.remote = RemoteRecommender(self.settings, client=client, clock=clock) if self.settings.url else None

    async def __call__(self, recommendation: Recommendation, signals: Signals) -> list[dict[str, Any]]:
        """The items of one slot (the pipeline's ``Recommender`` protocol)."""
        await self.refresh()
        products = await self.products(recommendation, Shopper.from_signals(signals))
        return cards(products)

    async def resolve(self, decision: Decision, signals: Signals) -> None:
        """Fill ``items`` of every recommendation slot of ``decision``.

        A failure in one slot is logged and leaves that slot empty; it never raises.
        """
        if not decision.recommendations:
            return
        await self.refresh()
        shopper = Shopper.from_signals(signals)
        for recommendation in decision.recommendations.values():
            try:
                recommendation.items = cards(await self.products(recommendation, shopper))
            except Exception:
                logger.exception("smalldata: recommendations failed for slot %r", recommendation.slot)
                recommendation.items = []

    async def products(self, recommendation: Recommendation, shopper: Shopper) -> list[Product]:
        """The products for one slot: its strategy, then its fallback if it came up short."""
        options = recommendation.options
        category = options.get("category")
        fallback = options.get("fallback")
        if recommendation.strategy != "remote":
            return recommend_local(
                self.catalogue, shopper, recommendation.strategy, limit=recommendation.limit,
                exclude=recommendation.exclude, category=category, fallback=fallback,
            )  # fmt: skip
        return await self._remote(recommendation, shopper, category, fallback)

    async def _remote(
        self, recommendation: Recommendation, shopper: Shopper, category: str | None, fallback: str | None
    ) -> list[Product]:
        excluded = excluded_ids(shopper, recommendation.exclude)
        limit = recommendation.limit
        ids = None
        if self.remote is not None:
            ids = await self.remote.fetch(shopper, slot=recommendation.slot, limit=limit + len(excluded))
        if ids is None:
            local = fallback if fallback in LOCAL else self.settings.fallback
            return recommend_local(
                self.catalogue, shopper, local, limit=limit, exclude=recommendation.exclude, category=category
            )
        found = (self.catalogue.get(i) for i in ids)
        chosen = pick((p for p in found if p is not None), excluded, limit)
        return _fill(chosen, self.catalogue, shopper, fallback, "remote", category, excluded, limit)

    async def refresh(self) -> None:
        """Let a file catalogue pick up an edited file (cheap: it looks at most once a second)."""
        try:
            await self.catalogue.refresh()
        except Exception:
            logger.exception("smalldata: refreshing the catalogue failed; keeping the current one")

    async def start(self) -> None:
        """Make the remote client (at application start-up, so no shopper waits for it)."""
        if self.remote is not None:
            await self.remote.start()

    async def aclose(self) -> None:
        """Close the remote client (on application shutdown)."""
        if self.remote is not None:
            await self.remote.aclose()


async def resolve_recommendations(
    decision: Decision, signals: Signals, catalogue: Catalogue | None, settings: RecommenderSettings | None = None
) -> None:
    """Fill ``decision.recommendations[slot].items``; remote calls are awaited, local ones are sync.

    A convenience over :class:`CatalogueRecommender`: recommenders are kept per catalogue and
    settings, so the remote cache and circuit breaker live across requests. Long-lived
    apps should hold their own :class:`CatalogueRecommender` (and ``aclose`` it on shutdown).
    """
    if not decision.recommendations:
        return
    await _shared(catalogue, settings or RecommenderSettings()).resolve(decision, signals)


_SHARED: dict[tuple[int, str], CatalogueRecommender] = {}
_SHARED_MAX = 8


def _shared(catalogue: Catalogue | None, settings: RecommenderSettings) -> CatalogueRecommender:
    # the entry holds the catalogue, so its id cannot be reused by another object while cached
    key = (id(catalogue), settings.model_dump_json())
    recommender = _SHARED.get(key)
    if recommender is None:
        while len(_SHARED) >= _SHARED_MAX:
            _SHARED.pop(next(iter(_SHARED)))
        recommender = _SHARED[key] = CatalogueRecommender(catalogue, settings)
    return recommender
