"""The local recommendation strategies: pure functions of a catalogue and a shopper.

Each returns candidate products, best first, in a stable order (ties keep the
catalogue's order). Stock, exclusions, duplicates and the limit are applied
afterwards by :func:`smalldata.recommend.select.pick`, so every strategy obeys
them the same way.

``bestsellers`` chooses its category by the rule's ``category:`` option:

==================  ===============================================================
``category:``       bestsellers within
==================  ===============================================================
(not set)           ``page.category`` on a category page, else the whole catalogue
``page``            ``page.category``; the whole catalogue when there is none
``most_viewed``     the visitor's most-viewed category (``history.category_views``,
                    ties: the first in the catalogue); else ``page.category``; else all
``all``             the whole catalogue, even on a category page
any other name      that category
==================  ===============================================================
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from itertools import chain, zip_longest

from smalldata.catalogue import Catalogue, Product
from smalldata.recommend.context import Shopper

Strategy = Callable[[Catalogue, Shopper, str | None], Iterable[Product]]
"""``(catalogue, shopper, category option) → candidates``, best first (may be lazy)."""

#: A purchase in a category counts as much as this many views of it (for ``personal``).
PURCHASE_WEIGHT = 5


def recently_viewed(catalogue: Catalogue, shopper: Shopper, category: str | None = None) -> Iterator[Product]:
    """The products the visitor viewed, most recent first."""
    return _known(catalogue, shopper.viewed)


def complements(catalogue: Catalogue, shopper: Shopper, category: str | None = None) -> Iterator[Product]:
    """Related products of the current product and of the basket's items.

    The seeds' lists are interleaved (first related item of each seed, then the
    second, ...), so a full basket does not get only the first item's companions.
    The current product's companions come first.
    """
    current = () if shopper.product is None else (shopper.product,)
    seeds = _known(catalogue, dict.fromkeys((*current, *shopper.basket)))
    lists = [seed.related for seed in seeds]
    ids = (i for i in chain.from_iterable(zip_longest(*lists)) if i is not None)
    return _known(catalogue, ids)


def bestsellers(catalogue: Catalogue, shopper: Shopper, category: str | None = None) -> Sequence[Product]:
    """The most popular products, in the category chosen as the module docstring describes."""
    scope = bestseller_category(catalogue, shopper, category)
    pool = catalogue.in_category(scope) if scope is not None else catalogue.products()
    return ranked(pool, "popularity")


def bestseller_category(catalogue: Catalogue, shopper: Shopper, option: str | None) -> str | None:
    """The category ``bestsellers`` ranks within, or None for the whole catalogue."""
    if option == "all":
        return None
    if option == "most_viewed":
        top = _top_category(catalogue, shopper.category_views)
        return top or shopper.category
    if option in (None, "page"):
        return shopper.category
    return option


def new_arrivals(catalogue: Catalogue, shopper: Shopper, category: str | None = None) -> Sequence[Product]:
    """The newest products first (by ``added``); products without a date come last.

    With a ``category:`` option (a name, ``page`` or ``most_viewed``), only that category.
    """
    scope = bestseller_category(catalogue, shopper, category) if category else None
    pool = catalogue.in_category(scope) if scope is not None else catalogue.products()
    return ranked(pool, "added")


def personal(catalogue: Catalogue, shopper: Shopper, category: str | None = None) -> Iterator[Product]:
    """Popular products of the categories the customer bought from or viewed most.

    A category's weight is its views plus :data:`PURCHASE_WEIGHT` per purchase in it
    (``user.purchased`` holds product ids and category names). Products rank by their
    best category's weight, then by popularity; products of other categories are left out.
    """
    weights = _category_weights(catalogue, shopper)
    tiers: dict[int, list[str]] = {}
    for name, weight in weights.items():
        tiers.setdefault(weight, []).append(name)
    seen: set[str] = set()
    for weight in sorted(tiers, reverse=True):
        # categories of equal weight are merged by popularity; lists are ranked once per catalogue load
        lists = [ranked(catalogue.in_category(name), "popularity") for name in sorted(tiers[weight])]
        for product in heapq.merge(*lists, key=lambda p: -p.popularity):
            if product.id not in seen:
                seen.add(product.id)
                yield product


def _category_weights(catalogue: Catalogue, shopper: Shopper) -> dict[str, int]:
    weights = dict(shopper.category_views)
    for item in shopper.purchased:
        product = catalogue.get(item)
        categories: Iterable[str] = product.categories if product is not None else (item,)
        for name in categories:
            weights[name] = weights.get(name, 0) + PURCHASE_WEIGHT
    return {name: weight for name, weight in weights.items() if weight > 0}


def _top_category(catalogue: Catalogue, views: Mapping[str, int]) -> str | None:
    if not views:
        return None
    best = max(views.values())
    tied = {name for name, count in views.items() if count == best}
    if len(tied) == 1:
        return next(iter(tied))
    for product in catalogue.products():  # a stable tie-break that does not depend on dict order
        for name in product.categories:
            if name in tied:
                return name
    return min(tied)


def _known(catalogue: Catalogue, ids: Iterable[str]) -> Iterator[Product]:
    for product_id in ids:
        product = catalogue.get(product_id)
        if product is not None:
            yield product


# -- rankings, computed once per product list -------------------------------------------------

_SORT_KEYS: dict[str, Callable[[Product], float]] = {
    "popularity": lambda p: -p.popularity,
    "added": lambda p: -(p.added or date.min).toordinal(),
}
_RANKED: dict[tuple[int, str], tuple[Sequence[Product], list[Product]]] = {}
_RANKED_MAX = 256


def ranked(pool: Sequence[Product], by: str) -> list[Product]:
    """``pool`` sorted by ``popularity`` or ``added`` (best first, ties in pool order).

    Sorting a large catalogue on every request would cost milliseconds, so the
    order of a *tuple* (immutable, as :class:`~smalldata.catalogue.MemoryCatalogue`
    returns) is kept. A catalogue swaps in new tuples when it reloads, which makes
    a new entry; the entry holds its tuple, so the id that keys it cannot be
    reused while it is cached. Other sequences may change in place: sorted each time.
    """
    if not isinstance(pool, tuple):
        return sorted(pool, key=_SORT_KEYS[by])
    key = (id(pool), by)
    cached = _RANKED.get(key)
    if cached is not None and cached[0] is pool:
        return cached[1]
    order = sorted(pool, key=_SORT_KEYS[by])
    if len(_RANKED) >= _RANKED_MAX:
        _RANKED.pop(next(iter(_RANKED)))
    _RANKED[key] = (pool, order)
    return order


LOCAL: dict[str, Strategy] = {
    "recently_viewed": recently_viewed,
    "complements": complements,
    "bestsellers": bestsellers,
    "new_arrivals": new_arrivals,
    "personal": personal,
}
"""The strategies computed in-process, by name (``remote`` lives in :mod:`smalldata.recommend.remote`)."""
