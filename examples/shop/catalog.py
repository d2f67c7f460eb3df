"""The shop's product catalogue (``data/products.json``) and a recommender built on it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smalldata.decision import Recommendation
from smalldata.signals.base import Signals

DATA = Path(__file__).parent / "data" / "products.json"


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    category: str
    price: float
    currency: str
    description: str
    complements: tuple[str, ...]
    sales: int
    added: str

    @property
    def url(self) -> str:
        return f"/products/{self.id}"

    @property
    def image(self) -> str:
        return f"/static/img/{self.id}.svg"

    def card(self) -> dict[str, Any]:
        """What a recommendation item carries to the page."""
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "image": self.image,
            "price": self.price,
            "currency": self.currency,
        }


class Catalog:
    """All products, by id and by category."""

    def __init__(self, path: Path = DATA) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        self.categories: dict[str, str] = data["categories"]
        self.products = [Product(**{**item, "complements": tuple(item["complements"])}) for item in data["products"]]
        self.by_id = {product.id: product for product in self.products}

    def in_category(self, category: str) -> list[Product]:
        return [product for product in self.products if product.category == category]

    def get(self, product_id: str) -> Product | None:
        return self.by_id.get(product_id)

    def known(self, ids: Iterable[Any]) -> list[Product]:
        return [self.by_id[i] for i in ids if isinstance(i, str) and i in self.by_id]


class CatalogRecommender:
    """The strategies of SPEC §2 over this catalogue: recently_viewed, complements,
    bestsellers, new_arrivals; ``remote`` falls back to bestsellers here."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def __call__(self, recommendation: Recommendation, signals: Signals) -> list[dict[str, Any]]:
        candidates = self._candidates(recommendation.strategy, signals)
        excluded = self._excluded(recommendation.exclude, signals)
        chosen = [p for p in dict.fromkeys(candidates) if p.id not in excluded]
        return [product.card() for product in chosen[: recommendation.limit]]

    def _candidates(self, strategy: str, signals: Signals) -> list[Product]:
        catalog = self.catalog
        if strategy == "recently_viewed":
            return catalog.known(signals.get("history.viewed_products") or [])
        if strategy == "complements":
            return self._complements(signals)
        if strategy == "new_arrivals":
            return sorted(catalog.products, key=lambda p: p.added, reverse=True)
        category = signals.get("page.category") or signals.get("history.last_category")
        pool = catalog.in_category(category) if category in catalog.categories else catalog.products
        return sorted(pool, key=lambda p: p.sales, reverse=True)

    def _complements(self, signals: Signals) -> list[Product]:
        seeds = [signals.get("page.product"), *(signals.get("basket.skus") or [])]
        found = [c for seed in self.catalog.known(seeds) for c in self.catalog.known(seed.complements)]
        return found or sorted(self.catalog.products, key=lambda p: p.sales, reverse=True)

    def _excluded(self, exclude: list[str], signals: Signals) -> set[str]:
        ids: set[str] = {signals.get("page.product") or ""}
        sources = {"in_basket": "basket.skus", "purchased": "user.purchased", "viewed": "history.viewed_products"}
        for name in exclude:
            if name in sources:
                ids.update(str(i) for i in signals.get(sources[name]) or [])
        return ids
