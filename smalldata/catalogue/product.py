"""A product as recommendations see it, and how its price reads in the shop's currency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple


@dataclass(frozen=True)
class Product:
    """One product of the catalogue.

    ``categories``, ``tags`` and ``related`` (ids of products that go with this
    one) keep the file's order. ``popularity`` is any number where higher sells
    more (units sold, revenue, a score); ``added`` is when it arrived in the shop.
    """

    id: str
    name: str
    url: str
    image: str | None = None
    price: float | None = None
    currency: str | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    popularity: float = 0.0
    added: date | None = None
    in_stock: bool = True

    def card(self) -> dict[str, Any]:
        """What a recommendation item carries to the page template."""
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "image": self.image,
            "price": self.price,
            "currency": self.currency,
            "price_text": format_price(self.price, self.currency),
            "categories": list(self.categories),
        }


class _Style(NamedTuple):
    symbol: str
    before: bool
    decimal: str
    thousands: str


# How shoppers in each currency's home market write a price (CLDR conventions, kept short).
_STYLES: dict[str, _Style] = {
    "DKK": _Style("kr.", False, ",", "."),
    "SEK": _Style("kr", False, ",", "\u00a0"),
    "NOK": _Style("kr", True, ",", "\u00a0"),
    "ISK": _Style("kr.", False, ",", "."),
    "EUR": _Style("€", False, ",", "."),
    "CHF": _Style("CHF", True, ".", "’"),
    "PLN": _Style("zł", False, ",", "\u00a0"),
    "GBP": _Style("£", True, ".", ","),
    "USD": _Style("$", True, ".", ","),
    "CAD": _Style("CA$", True, ".", ","),
    "AUD": _Style("A$", True, ".", ","),
}


def format_price(price: float | None, currency: str | None) -> str | None:
    """``249, "DKK"`` → ``"249,00 kr."``; ``19.5, "USD"`` → ``"$19.50"``; unknown codes → ``"249.00 XYZ"``."""
    if price is None:
        return None
    number = f"{price:,.2f}"  # "1,249.00"
    style = _STYLES.get((currency or "").upper())
    if style is None:
        return f"{number} {currency}" if currency else number
    whole, _, cents = number.partition(".")
    number = whole.replace(",", style.thousands) + style.decimal + cents
    sep = "" if len(style.symbol) == 1 else " "
    return f"{style.symbol}{sep}{number}" if style.before else f"{number} {style.symbol}"
