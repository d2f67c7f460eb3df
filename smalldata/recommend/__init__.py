"""Recommendation slots filled with products: local strategies over the catalogue, or a remote service.

The engine decides *which* strategy a slot uses (``recommend:`` in a rule);
this package finds the products::

    recommender = CatalogueRecommender(catalogue, settings.recommender)
    await recommender.resolve(decision, signals)        # fills decision.recommendations[slot].items

A :class:`CatalogueRecommender` is also the pipeline's ``recommender`` callable
(``await recommender(recommendation, signals) -> items``).

Every slot, whatever its strategy: out-of-stock products never appear, the
``exclude:`` lists (``in_basket``, ``purchased``, ``viewed``) and the product on
the page are left out, no product appears twice, the order is stable and at
most ``limit`` items are shown. A rule's ``fallback:`` strategy fills a slot
its strategy left short (e.g. ``recently_viewed`` for a new visitor).
"""

from __future__ import annotations

from smalldata.recommend.config import RecommenderSettings
from smalldata.recommend.context import READS, Shopper
from smalldata.recommend.recommender import CatalogueRecommender, recommend_local, resolve_recommendations
from smalldata.recommend.remote import RemoteRecommender, parse_answer, request_body
from smalldata.recommend.select import EXCLUSIONS
from smalldata.recommend.strategies import LOCAL, bestseller_category

__all__ = [
    "EXCLUSIONS",
    "LOCAL",
    "READS",
    "CatalogueRecommender",
    "RecommenderSettings",
    "RemoteRecommender",
    "Shopper",
    "bestseller_category",
    "parse_answer",
    "recommend_local",
    "request_body",
    "resolve_recommendations",
]
