"""The shop's products, read with smalldata's catalogue reader from the file smalldata recommends from.

One file (``data/products.json``, named by ``catalogue.path`` in ``smalldata.yaml``)
feeds both the shop's pages and the recommendation slots, so a product added
there shows up in both. The shop adds what only its pages need: category titles
and product descriptions, which the same file carries in fields the catalogue
reader ignores.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from smalldata.catalogue import Catalogue, Product

DATA = Path(__file__).parent / "data" / "products.json"


class Catalog:
    """The products of ``catalogue`` plus the titles and descriptions in the shop's JSON file."""

    def __init__(self, catalogue: Catalogue, data: Path = DATA) -> None:
        self.catalogue = catalogue
        raw = json.loads(data.read_text(encoding="utf-8"))
        self.categories: dict[str, str] = dict(raw.get("categories", {}))
        self.descriptions: dict[str, str] = {
            str(row["id"]): str(row.get("description", "")) for row in raw.get("products", []) if "id" in row
        }

    @property
    def products(self) -> Sequence[Product]:
        return self.catalogue.products()

    def get(self, product_id: str) -> Product | None:
        return self.catalogue.get(product_id)

    def in_category(self, category: str) -> Sequence[Product]:
        return self.catalogue.in_category(category)

    def bestsellers(self, limit: int) -> list[Product]:
        return sorted(self.products, key=lambda product: product.popularity, reverse=True)[:limit]

    def describe(self, product: Product) -> str:
        return self.descriptions.get(product.id, "")


def category_of(product: Product) -> str:
    """The shop files each product under one category: the first."""
    return product.categories[0] if product.categories else ""
