"""The shop's basket, kept in the Django session, and the hook that hands it to smalldata.

``smalldata.yaml`` names the hook: ``basket: {callable: "examples.django_shop.basket:basket"}``.
"""

from __future__ import annotations

from typing import Any

from smalldata.django import request_hook

CURRENCY = "DKK"
PRODUCTS: dict[str, dict[str, Any]] = {
    "mug": {"name": "Hygge mug", "price": 89, "category": "kitchen"},
    "blanket": {"name": "Wool blanket", "price": 349, "category": "living"},
    "lamp": {"name": "Paper lamp", "price": 599, "category": "living"},
}


def lines(session: Any) -> list[dict[str, Any]]:
    """The basket's lines: sku, name, price, category and quantity."""
    found = session.get("basket", {})
    return [{"sku": sku, **PRODUCTS[sku], "quantity": quantity}
            for sku, quantity in found.items() if sku in PRODUCTS]  # fmt: skip


def add(session: Any, sku: str) -> None:
    """One more of ``sku`` in the basket."""
    found = dict(session.get("basket", {}))
    found[sku] = found.get(sku, 0) + 1
    session["basket"] = found


def basket_of(request: Any) -> dict[str, Any]:
    """The basket of a Django request as smalldata reads it (``{}`` lines: an empty basket)."""
    return {"items": lines(request.session), "currency": CURRENCY}


#: ``basket.callable``: smalldata calls it when a rule reads ``basket.*``, in Django's thread for the request.
basket = request_hook(basket_of)
