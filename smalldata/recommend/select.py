"""From candidates to the items a slot shows: in stock, not excluded, no duplicates, at most ``limit``."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from smalldata.catalogue import Product
from smalldata.recommend.context import Shopper

EXCLUSIONS = ("in_basket", "purchased", "viewed")


def excluded_ids(shopper: Shopper, exclude: Iterable[str]) -> set[str]:
    """Ids a slot must not show: the ``exclude:`` lists, and always the product on the page."""
    ids: set[str] = set()
    if shopper.product is not None:
        ids.add(shopper.product)  # recommending the product the visitor is looking at is noise
    for name in exclude:
        if name == "in_basket":
            ids.update(shopper.basket)
        elif name == "purchased":
            ids.update(shopper.purchased)
        elif name == "viewed":
            ids.update(shopper.viewed)
    return ids


def pick(candidates: Iterable[Product], excluded: Collection[str], limit: int) -> list[Product]:
    """The first ``limit`` candidates that are in stock, not excluded and not already picked."""
    chosen: dict[str, Product] = {}
    for product in candidates:
        if len(chosen) >= limit:
            break
        if product.in_stock and product.id not in excluded and product.id not in chosen:
            chosen[product.id] = product
    return list(chosen.values())


def cards(products: Iterable[Product]) -> list[dict[str, Any]]:
    """The template-ready items (``id``, ``name``, ``url``, ``image``, ``price``, ``price_text`` ...)."""
    return [product.card() for product in products]
