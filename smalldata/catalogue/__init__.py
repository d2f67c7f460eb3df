"""The product catalogue recommendations are drawn from.

::

    from smalldata.catalogue import open_catalogue
    catalogue = open_catalogue(settings.catalogue)   # None when no path is configured
    catalogue.get("mug-hygge"), catalogue.in_category("kitchen")

Any object with ``get(id)``, ``products()`` and ``in_category(c)`` works as a
:class:`Catalogue`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from smalldata.catalogue.config import CatalogueSettings
from smalldata.catalogue.load import CatalogueError, Defaults, Loaded, load_file, product_from_row
from smalldata.catalogue.product import Product, format_price
from smalldata.catalogue.source import Catalogue, FileCatalogue, MemoryCatalogue

__all__ = [
    "Catalogue",
    "CatalogueError",
    "CatalogueSettings",
    "Defaults",
    "FileCatalogue",
    "Loaded",
    "MemoryCatalogue",
    "Product",
    "describe_products",
    "format_price",
    "load_file",
    "open_catalogue",
    "product_from_row",
]


def open_catalogue(settings: CatalogueSettings, *, base: str | Path | None = None) -> FileCatalogue | None:
    """The file catalogue ``settings`` name (relative paths from ``base``), or None when none is set.

    Raises :class:`~smalldata.foundation.problems.ProblemsError` when the file cannot be used.
    """
    if settings.path is None:
        return None
    path = Path(settings.path)
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    defaults = Defaults(currency=settings.currency, url_pattern=settings.url_pattern)
    return FileCatalogue(path, defaults=defaults, check_every=settings.check_seconds)


def describe_products(catalogue: Catalogue, ids: Iterable[Any], limit: int = 5) -> list[dict[str, Any]]:
    """``id``, ``name``, ``url`` and ``price_text`` of known products among ``ids`` (for a chat agent's card)."""
    found: list[dict[str, Any]] = []
    for product_id in ids:
        product = catalogue.get(product_id) if isinstance(product_id, str) else None
        if product is not None:
            found.append({"id": product.id, "name": product.name, "url": product.url,
                          "price_text": format_price(product.price, product.currency)})  # fmt: skip
        if len(found) >= limit:
            break
    return found
