"""smalldata in a django-oscar shop: the customer and the basket from Oscar's models (docs/django.md).

``settings.py``: ``"smalldata.django.SmallDataMiddleware"`` after Oscar's ``BasketMiddleware``.
``smalldata.yaml``::

    user: {callable: "examples.oscar_recipe:customer"}
    basket: {callable: "examples.oscar_recipe:basket"}
"""

from __future__ import annotations

from typing import Any

from smalldata.django import customer_of, request_hook


def oscar_customer(request: Any) -> dict[str, Any]:
    """Django's customer (id, names, e-mail, groups) with the number of Oscar orders and the last one's date."""
    from django.db.models import Count, Max
    from oscar.core.loading import get_model

    customer = customer_of(request)
    if customer["logged_in"]:
        orders = get_model("order", "Order").objects.filter(user=request.user)
        found = orders.aggregate(count=Count("id"), last=Max("date_placed"))
        customer["orders"] = found["count"]
        customer["last_order"] = found["last"].date() if found["last"] else None
    return customer


def oscar_basket(request: Any) -> dict[str, Any]:
    """Oscar's basket of this request (``request.basket``: merged at login, offers applied), line by line."""
    basket = request.basket
    lines = []
    for line in basket.all_lines():
        product = line.product
        price = line.unit_price_incl_tax if basket.is_tax_known else line.unit_price_excl_tax
        lines.append({
            "sku": product.upc or str(product.pk),
            "name": product.get_title(),
            "price": float(price) if price is not None else None,
            "quantity": line.quantity,
            "category": product.get_categories().values_list("name", flat=True).first(),
        })
    total = basket.total_incl_tax if basket.is_tax_known else basket.total_excl_tax
    return {"items": lines, "total": float(total) if total is not None else None, "currency": basket.currency}


#: ``user.callable``
customer = request_hook(oscar_customer)
#: ``basket.callable``
basket = request_hook(oscar_basket)
