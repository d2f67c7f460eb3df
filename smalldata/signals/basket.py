"""``basket.*``: the visitor's basket, normalised whatever the shop calls its fields.

Sources, first configured one that answers wins: an app callable
(``basket.callable``, given the ASGI scope, sync or async), a session key, a
cookie holding JSON, or a basket service over HTTP (``basket.service_url`` with
``{id}`` from the ``basket.id_cookie`` cookie, else the user's id), which is only
called from :func:`prefetch_basket`. A missing basket where the source exists
(no cookie, no session key) is an empty basket; a broken one is unknown.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from smalldata.signals.user import load_callable

if TYPE_CHECKING:
    from smalldata.signals.context import RequestContext

logger = logging.getLogger("smalldata.signals.basket")

FIELDS = ("items", "count", "total", "currency", "skus", "categories", "empty", "free_shipping_gap")
MAX_ITEMS = 200
MAX_QUANTITY = 10_000
MAX_TEXT = 200
MAX_COOKIE = 4_096
_MISSING = object()


def basket_signals(ctx: RequestContext) -> dict[str, Any]:
    """The ``basket`` namespace for one request."""
    raw = _raw_basket(ctx)
    if raw is _MISSING or raw is None:
        return dict.fromkeys(FIELDS)
    return normalise(raw, ctx.settings.basket.currency, ctx.settings.basket.free_shipping_threshold)


def _raw_basket(ctx: RequestContext) -> Any:
    """The basket as the source gives it; ``{}`` when known empty, None when unknown, _MISSING if no source."""
    settings = ctx.settings.basket
    if "basket.callable" in ctx.prefetched:
        return ctx.prefetched["basket.callable"]
    if settings.callable:
        function = load_callable(settings.callable)
        if function is not None and not inspect.iscoroutinefunction(function):
            try:
                return function(ctx.scope)
            except Exception:
                logger.exception("basket callable failed")
                return None
    if settings.session_key:
        session = ctx.scope.get("session")
        if isinstance(session, Mapping):
            return session.get(settings.session_key) or {}
    if settings.cookie:
        value = ctx.cookies.get(settings.cookie)
        if value is None:
            return {}
        return parse_cookie_basket(value)
    if "basket.service" in ctx.prefetched:
        return ctx.prefetched["basket.service"]
    return _MISSING


def parse_cookie_basket(value: str) -> Any:
    """JSON from a cookie, plain or URL-encoded; None when it is not JSON."""
    if len(value) > MAX_COOKIE:
        return None
    for text in (value, unquote(value)):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            continue
    return None


def prefetch_needed(ctx: RequestContext) -> bool:
    """Whether :func:`prefetch_basket` has anything to await: a basket callable or the basket service."""
    return bool(ctx.settings.basket.callable) or (ctx.sources is not None and ctx.sources.basket is not None)


async def prefetch_basket(ctx: RequestContext) -> None:
    """Await an async basket callable or the basket service (only when ``basket.*`` is read)."""
    settings = ctx.settings.basket
    if settings.callable:
        function = load_callable(settings.callable)
        if function is not None and inspect.iscoroutinefunction(function):
            try:
                ctx.prefetched["basket.callable"] = await function(ctx.scope)
            except Exception:
                logger.exception("basket callable failed")
                ctx.prefetched["basket.callable"] = None
            return
    source = ctx.sources.basket if ctx.sources is not None else None
    if source is None:
        return
    basket_id = ctx.cookies.get(settings.id_cookie) if settings.id_cookie else None
    if not basket_id:
        user = ctx.prefetched.get("user.identity") or ctx.user
        basket_id = str(user["id"]) if user and user.get("logged_in") and user.get("id") else None
    if basket_id:
        ctx.prefetched["basket.service"] = await source.fetch(basket_id)


def normalise(raw: Any, currency: str | None, threshold: float | None) -> dict[str, Any]:
    """``{items, count, total, ...}`` from a mapping with ``items``/``lines`` or a plain list of lines."""
    # type() tests first: the ABC isinstance checks cost ~0.5 µs each, and this runs on every page
    if type(raw) is dict or isinstance(raw, Mapping):
        lines = raw.get("items", _MISSING)
        if lines is _MISSING:
            lines = raw.get("lines", [])
        given_total = _number(raw.get("total"))
        currency = _text(raw.get("currency")) or currency
    else:
        lines, given_total = raw, None
    if not isinstance(lines, list):
        return dict.fromkeys(FIELDS)
    items: list[dict[str, Any]] = []
    skus: dict[str, None] = {}  # ordered sets
    categories: dict[str, None] = {}
    count = 0
    priced = True
    summed: float = 0  # int 0 when empty, as sum() gives
    for line in lines[:MAX_ITEMS]:
        item = _item(line)
        if item is None:
            continue
        items.append(item)
        count += item["quantity"]
        if item["sku"]:
            skus[item["sku"]] = None
        if item["category"]:
            categories[item["category"]] = None
        if item["price"] is None:
            priced = False  # one unknown price makes the total unknown, not smaller
        elif priced:
            summed += item["price"] * item["quantity"]
    total = given_total if given_total is not None and given_total >= 0 else (round(summed, 2) if priced else None)
    return {
        "items": items,
        "count": count,
        "total": total,
        "currency": currency,
        "skus": list(skus),
        "categories": list(categories),
        "empty": count == 0,
        "free_shipping_gap": _gap(threshold, total),
    }


def _item(line: Any) -> dict[str, Any] | None:
    if type(line) is not dict and not isinstance(line, Mapping):
        return None
    get = line.get
    sku = _text(get("sku") or get("product_id") or get("id") or get("product"))
    quantity = get("quantity", _MISSING)
    if quantity is _MISSING:
        quantity = get("qty", _MISSING)
        if quantity is _MISSING:
            quantity = get("count", 1)
    quantity = _number(quantity)
    if sku is None or quantity is None or quantity < 0 or quantity != int(quantity):
        return None
    price = get("price", _MISSING)
    if price is _MISSING:
        price = get("unit_price")
    price = _number(price)
    return {
        "sku": sku,
        "name": _text(get("name") or get("title")),
        "price": price if price is not None and price >= 0 else None,
        "quantity": min(int(quantity), MAX_QUANTITY),
        "category": _text(get("category")),
    }


def _gap(threshold: float | None, total: float | None) -> float | None:
    if threshold is None or total is None:
        return None
    return round(max(0.0, threshold - total), 2)


def _text(value: Any) -> str | None:
    if type(value) is str:
        return value.strip()[:MAX_TEXT] or None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip()[:MAX_TEXT] or None
    return None


def _number(value: Any) -> float | None:
    kind = type(value)
    if kind is float or kind is int:
        number = float(value)
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
