"""``basket.*``: the visitor's basket, normalised whatever the shop calls its fields.

Sources, first configured one that answers wins: the shop's function
(``basket.callable``, called as ``docs/shop-code.md`` says: with the page's Starlette
``Request``, in a thread or awaited, within ``basket.timeout_ms``), a session key, a
cookie holding JSON, or a basket service over HTTP (``basket.service_url`` with
``{id}`` from the ``basket.id_cookie`` cookie, else the user's id). The function and
the service are called only from :meth:`Baskets.prefetch`. A missing basket where the
source exists (no cookie, no session key, the function answered None) is an empty
basket; a broken one (or a failed function) is unknown.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from smalldata.foundation.guest import FAILED, Guest, GuestPool, WrongAnswer, shared_pool
from smalldata.signals.config import BasketSettings
from smalldata.signals.spec import Group, Namespace, signal
from smalldata.signals.user import Users

if TYPE_CHECKING:
    from smalldata.foundation.remote import RemoteSource
    from smalldata.signals.request import Request, RequestSignals

FIELDS = ("items", "count", "total", "currency", "skus", "categories", "empty", "free_shipping_gap")
MAX_ITEMS = 200
MAX_QUANTITY = 10_000
MAX_TEXT = 200
MAX_COOKIE = 4_096
_MISSING = object()


NAMES = tuple(f"basket.{field}" for field in FIELDS)
_UNKNOWN = dict.fromkeys(NAMES)


class Baskets:
    """The visitor's basket as ``basket.*`` signals (the provider is :meth:`signals`).

    ``service`` is the basket service (``basket.service_url``), or None; ``users`` tell
    whose basket the service should return when no basket-id cookie names one; ``pool`` is
    the threads ``basket.callable`` runs in.
    """

    def __init__(self, settings: BasketSettings, users: Users, service: RemoteSource | None = None,
                 pool: GuestPool | None = None) -> None:
        self.settings = settings
        self.users = users
        self.service = service
        self.guest = Guest(settings.callable, "basket.callable", timeout=settings.timeout_ms / 1000,
                           pool=pool or shared_pool(), read=read_basket) if settings.callable else None
        self._empty: dict[str, Any] | None = None

    def signals(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        """The provider of ``basket.*``."""
        raw = self._raw(request)
        if raw is _MISSING or raw is None:
            return _UNKNOWN
        if not raw:  # most visitors: nothing in the basket
            empty = self._empty
            if empty is None:
                empty = self._empty = normalise({}, self.settings.currency, self.settings.free_shipping_threshold)
            return {**empty, "basket.items": [], "basket.skus": [], "basket.categories": []}
        return normalise(raw, self.settings.currency, self.settings.free_shipping_threshold)

    def _raw(self, request: Request) -> Any:
        """The basket as the source gives it; ``{}`` when known empty, None when unknown, _MISSING if no source."""
        settings = self.settings
        prefetched = request.prefetched
        if self.guest is not None:  # what prefetch() got from the shop's function (None: unknown)
            return prefetched.get("basket.callable")
        if settings.session_key:
            session = request.scope.get("session")
            if isinstance(session, Mapping):
                return session.get(settings.session_key) or {}
        if settings.cookie:
            value = request.cookies.get(settings.cookie)
            if value is None:
                return {}
            return parse_cookie_basket(value)
        if "basket.service" in prefetched:
            return prefetched["basket.service"]
        return _MISSING

    @property
    def fetches(self) -> bool:
        """Whether :meth:`prefetch` may have anything to await: a basket callable or the basket service."""
        return self.guest is not None or self.service is not None

    async def prefetch(self, request: Request) -> None:
        """Call the shop's basket function or the basket service (only when ``basket.*`` is read)."""
        settings = self.settings
        if self.guest is not None:
            found = await self.guest.call(request.for_shop())
            request.prefetched["basket.callable"] = None if found is FAILED else {} if found is None else found
            return
        if self.service is None:
            return
        basket_id = request.cookies.get(settings.id_cookie) if settings.id_cookie else None
        if not basket_id:
            await self.users.resolve(request)  # the service may be keyed by the user's id
            basket_id = self.users.user_id(request)
        if basket_id:
            request.prefetched["basket.service"] = await self.service.fetch(basket_id)


def read_basket(found: Any) -> Any:
    """What ``basket.callable`` answered (None: empty), or :class:`WrongAnswer` when it is not a basket."""
    if found is None or isinstance(found, Mapping | list):
        return found
    raise WrongAnswer(f"answered a {type(found).__name__}, not a basket (a mapping with items, a list of lines, "
                      "or None)")


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


def normalise(raw: Any, currency: str | None, threshold: float | None) -> dict[str, Any]:
    """``{"basket.items": ..., "basket.count": ..., ...}`` from a mapping with ``items``/``lines``,
    or from a plain list of lines."""
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
        return dict(_UNKNOWN)
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
        "basket.items": items,
        "basket.count": count,
        "basket.total": total,
        "basket.currency": currency,
        "basket.skus": list(skus),
        "basket.categories": list(categories),
        "basket.empty": count == 0,
        "basket.free_shipping_gap": _gap(threshold, total),
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


#: The ``basket`` namespace (see :mod:`smalldata.signals.spec`).
NAMESPACE = Namespace(
    "basket",
    signals=(
        signal("basket.items", "records", "the basket lines"),
        signal("basket.count", "number", "number of items", lower=0),
        signal("basket.total", "number", "basket value", lower=0),
        signal("basket.currency", "text", "currency code"),
        signal("basket.skus", "list", "product ids in the basket"),
        signal("basket.categories", "list", "categories in the basket"),
        signal("basket.empty", "bool", "the basket is empty"),
        signal("basket.free_shipping_gap", "number", "amount left to free shipping", lower=0),
    ),
    groups=(Group(NAMES, lambda parts: parts.baskets.signals),),
    prefetch=lambda parts: (parts.baskets.prefetch, None) if parts.baskets.fetches else None,
)
