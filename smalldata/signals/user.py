"""``user.*``: the logged-in customer, optionally enriched from a profile/CRM service.

Who is logged in comes from, in this order: the shop's function
(``user.callable: "shop.auth:current_user"``, called as ``docs/shop-code.md`` says:
with the page's Starlette ``Request``, in a thread or awaited, within ``user.timeout_ms``),
a session key (``scope["session"][user.session_key]``), or Starlette's
``AuthenticationMiddleware`` (``scope["user"]``). The last two are read inline (no thread).
The function and the profile service (``user.profile_url``) are called only in
:meth:`Users.resolve` and :meth:`Users.prefetch`, which the middleware awaits only when
the rules read ``user.*`` (or visitor state is kept per customer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from smalldata.foundation.dates import to_date
from smalldata.foundation.guest import FAILED, Guest, GuestPool, WrongAnswer, shared_pool
from smalldata.signals.config import UserSettings
from smalldata.signals.spec import Group, Namespace, signal

if TYPE_CHECKING:
    from smalldata.foundation.remote import RemoteSource
    from smalldata.signals.request import Request, RequestSignals

FIELDS = (
    "logged_in", "id", "first_name", "name", "email", "phone", "birthday", "is_birthday",
    "tier", "segment", "orders", "purchased", "last_order_days",
)  # fmt: skip
MAX_TEXT = 200
MAX_PURCHASED = 500
MAX_ORDERS = 1_000

# where profiles in the wild keep each field
_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "user_id", "customer_id", "identity", "username", "pk"),
    "first_name": ("first_name", "firstName", "given_name"),
    "last_name": ("last_name", "lastName", "family_name"),
    "name": ("name", "full_name", "fullName", "display_name"),
    "email": ("email", "email_address"),
    "phone": ("phone", "phone_number", "mobile"),
    "birthday": ("birthday", "birth_date", "date_of_birth", "dob"),
    "tier": ("tier", "loyalty_tier", "loyalty"),
    "segment": ("segment", "rfm_segment"),
    "last_order": ("last_order", "last_order_date", "last_order_at"),
    "order_count": ("order_count", "orders_count"),
}
_OBJECT_ATTRIBUTES = (*dict.fromkeys(name for names in _ALIASES.values() for name in names), "orders", "purchased")


NAMES = tuple(f"user.{field}" for field in FIELDS)
_ANONYMOUS = dict.fromkeys(NAMES)
_LOGGED_OUT = {**_ANONYMOUS, "user.logged_in": False}


class Users:
    """Who is logged in, and the ``user.*`` signals of a request (the provider is :meth:`signals`).

    ``profile`` is the CRM source (``user.profile_url``), or None; ``pool`` the threads
    ``user.callable`` runs in.
    """

    def __init__(self, settings: UserSettings, profile: RemoteSource | None = None,
                 pool: GuestPool | None = None) -> None:
        self.settings = settings
        self.profile = profile
        self.guest = Guest(settings.callable, "user.callable", timeout=settings.timeout_ms / 1000,
                           pool=pool or shared_pool(), read=read_user) if settings.callable else None

    # -- who is logged in -----------------------------------------------------------------------

    def identity(self, request: Request) -> dict[str, Any] | None:
        """The app's user as ``{"logged_in": bool, ...fields}``, or None when nobody can tell (once per request).

        With ``user.callable`` this is what :meth:`resolve` found (None before it ran).
        """
        memo = request.memo
        if "user.identity" not in memo:
            if self.guest is not None:
                return None  # the shop's function runs only in resolve(), off the loop or awaited
            memo["user.identity"] = self._identity(request.scope)
        return memo["user.identity"]  # type: ignore[no-any-return]

    def user_id(self, request: Request) -> str | None:
        """The logged-in user's id, or None."""
        user = self.identity(request)
        if not user or not user.get("logged_in"):
            return None
        return _text(_first(user, "id"))

    def _identity(self, scope: Mapping[str, Any]) -> dict[str, Any] | None:
        """The built-in readers, inline (a dict lookup is cheaper than any thread)."""
        settings = self.settings
        if settings.session_key:
            session = scope.get("session")
            if not isinstance(session, Mapping):
                return None
            found = session.get(settings.session_key)
            return identity(found) if found is not None else {"logged_in": False}
        if "user" in scope:
            return identity(scope["user"])
        return None

    # -- remote data ----------------------------------------------------------------------------

    @property
    def fetches(self) -> bool:
        """Whether :meth:`prefetch` may have anything to await: a user callable or a profile service."""
        return self.guest is not None or self.profile is not None

    @property
    def pending(self) -> bool:
        """Whether who is logged in is known only once :meth:`resolve` ran (a ``user.callable``)."""
        return self.guest is not None

    async def resolve(self, request: Request) -> None:
        """Call ``user.callable`` (once per request, however many prefetchers ask at once)."""
        guest = self.guest
        memo = request.memo
        if guest is None or "user.identity" in memo:
            return
        pending = memo.get("user.pending")
        if pending is None:
            pending = memo["user.pending"] = asyncio.ensure_future(guest.call(request.for_shop()))
        found = await asyncio.shield(pending)  # one prefetcher cancelled must not cancel the others' answer
        memo["user.identity"] = None if found is FAILED else found or {"logged_in": False}

    async def prefetch(self, request: Request) -> None:
        """Resolve the user and fetch their profile from the CRM (only when ``user.*`` is read)."""
        await self.resolve(request)
        if self.profile is None:
            return
        user_id = self.user_id(request)
        if user_id:
            request.prefetched["user.profile"] = await self.profile.fetch(user_id)

    # -- the signals ----------------------------------------------------------------------------

    def signals(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        """The provider of ``user.*``."""
        user = self.identity(request)
        if user is None:
            return _ANONYMOUS
        if not user.get("logged_in"):
            return _LOGGED_OUT
        profile = request.prefetched.get("user.profile")
        merged = {**user, **profile} if isinstance(profile, Mapping) else user
        today = request.now.date()
        orders = _orders(merged.get("orders"))
        birthday = _date(_first(merged, "birthday"))
        last_order = _date(_first(merged, "last_order")) or (max(o[0] for o in orders) if orders else None)
        return {
            "user.logged_in": True,
            "user.id": _text(_first(user, "id")) or _text(_first(merged, "id")),
            "user.first_name": _first_name(merged),
            "user.name": _full_name(merged),
            "user.email": _text(_first(merged, "email")),
            "user.phone": _text(_first(merged, "phone")),
            "user.birthday": birthday,
            "user.is_birthday": is_birthday(birthday, today) if birthday else None,
            "user.tier": _text(_first(merged, "tier")),
            "user.segment": _text(_first(merged, "segment")) or (rfm_segment(orders, today)
                                                                  if orders is not None else None),
            "user.orders": _order_count(merged, orders),
            "user.purchased": _purchased(merged),
            "user.last_order_days": _days_since(last_order, today),
        }


def identity(found: Any) -> dict[str, Any] | None:
    """Normalise what an app calls its user: a mapping, an id, or an object like Starlette's ``BaseUser``."""
    if found is None:
        return None
    if type(found) is dict:  # the usual session dict: no ABC isinstance checks (~1 µs)
        data = dict(found)
        data["logged_in"] = bool(data.get("logged_in", data.get("is_authenticated", True)))
        return data
    if isinstance(found, bool):
        return {"logged_in": found}
    if isinstance(found, str | int):
        return {"logged_in": True, "id": str(found)}
    if isinstance(found, Mapping):
        data = dict(found)
        logged_in = data.get("logged_in", data.get("is_authenticated", True))
        data["logged_in"] = bool(logged_in)
        return data
    if not _safe_attribute(found, "is_authenticated", True):
        return {"logged_in": False}
    data = {name: value for name in _OBJECT_ATTRIBUTES if (value := _safe_attribute(found, name)) is not None}
    data["logged_in"] = True
    return data


def _safe_attribute(obj: Any, name: str, default: Any = None) -> Any:
    try:
        value = getattr(obj, name, default)
    except Exception:  # e.g. BaseUser.identity raising NotImplementedError
        return default
    return default if callable(value) else value


_USER_ATTRIBUTES = ("is_authenticated", *_OBJECT_ATTRIBUTES)


def read_user(found: Any) -> dict[str, Any] | None:
    """What ``user.callable`` answered as :func:`identity` reads it (None: anonymous); :class:`WrongAnswer`
    for an object that is no user (in the callable's thread: a framework's lazy user may query)."""
    if found is None or isinstance(found, bool | str | int | Mapping):
        return identity(found)
    for name in _USER_ATTRIBUTES:
        try:
            if hasattr(found, name):
                return identity(found)
        except Exception:  # a property that raises something else than AttributeError
            continue
    raise WrongAnswer(f"answered a {type(found).__name__}, not a user (a mapping, an object with id, first_name, "
                      "email or is_authenticated, an id, or None for anonymous)")


def _first(data: Mapping[str, Any], field: str) -> Any:
    for name in _ALIASES[field]:
        value = data.get(name)
        if value is not None and value != "":
            return value
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int):
        return str(value).strip()[:MAX_TEXT] or None
    return None


def _first_name(data: Mapping[str, Any]) -> str | None:
    first = _text(_first(data, "first_name"))
    if first:
        return first
    name = _text(_first(data, "name"))
    return name.split()[0] if name else None


def _full_name(data: Mapping[str, Any]) -> str | None:
    name = _text(_first(data, "name"))
    if name:
        return name
    parts = [_text(_first(data, "first_name")), _text(_first(data, "last_name"))]
    return " ".join(part for part in parts if part) or None


def _date(value: Any) -> date | None:
    return to_date(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def is_birthday(birthday: date, today: date) -> bool:
    """Born on this day of the year; 29 February birthdays are celebrated on the 28th in other years."""
    if (birthday.month, birthday.day) == (today.month, today.day):
        return True
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    return (birthday.month, birthday.day) == (2, 29) and not leap and (today.month, today.day) == (2, 28)


def _days_since(day: date | None, today: date) -> int | None:
    if day is None or day > today:
        return None
    return (today - day).days


# -- orders and RFM ----------------------------------------------------------------------------

Order = tuple[date, float | None, list[Any]]


def _orders(value: Any) -> list[Order] | None:
    """Orders with dates as ``(date, total, items)``; None when the profile lists no orders."""
    if not isinstance(value, list):
        return None
    orders: list[Order] = []
    for order in value[:MAX_ORDERS]:
        if not isinstance(order, Mapping):
            continue
        day = _date(order.get("date") or order.get("created_at") or order.get("ordered_at"))
        if day is None:
            continue
        total = _number(order.get("total", order.get("amount")))
        items = order.get("items")
        orders.append((day, total, items if isinstance(items, list) else []))
    return orders


def _order_count(data: Mapping[str, Any], orders: list[Order] | None) -> int | None:
    count = data.get("orders")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count
    if isinstance(data.get("orders"), list):
        return len(data["orders"])
    explicit = _first(data, "order_count")
    return explicit if isinstance(explicit, int) and not isinstance(explicit, bool) and explicit >= 0 else None


def _purchased(data: Mapping[str, Any]) -> list[str] | None:
    given = data.get("purchased")
    if isinstance(given, list):
        return _unique(_text(item) for item in given)
    orders = data.get("orders")
    if not isinstance(orders, list):
        return None
    found: list[str | None] = []
    for order in orders[:MAX_ORDERS]:
        items = order.get("items") if isinstance(order, Mapping) else None
        for item in items if isinstance(items, list) else ():
            if isinstance(item, Mapping):
                found.append(_text(item.get("sku") or item.get("product_id") or item.get("id")))
                found.append(_text(item.get("category")))
            else:
                found.append(_text(item))
    return _unique(found)


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))[:MAX_PURCHASED]


def rfm_segment(orders: list[Order], today: date) -> str:
    """An RFM-style class from order dates (recency, frequency) and totals (monetary).

    ``prospect`` (no orders), ``new`` (one order in 30 days), ``champion`` (4+ orders,
    the last within 30 days), ``loyal`` (3+ orders, the last within 90 days),
    ``promising`` (the last order within 90 days), ``at_risk`` (3+ orders but none
    in 90 days, or a big spender gone quiet), ``hibernating`` (quiet for 90-365
    days), ``lost`` (no order for over a year).
    """
    if not orders:
        return "prospect"
    recency = max(0, (today - max(order[0] for order in orders)).days)
    frequency = len(orders)
    monetary = sum(order[1] or 0.0 for order in orders)
    average = monetary / frequency
    if frequency == 1 and recency <= 30:
        return "new"
    if frequency >= 4 and recency <= 30:
        return "champion"
    if frequency >= 3 and recency <= 90:
        return "loyal"
    if recency <= 90:
        return "promising"
    if recency > 365:
        return "lost"
    if frequency >= 3 or (frequency >= 2 and average >= 1_000):
        return "at_risk"
    return "hibernating"


#: The ``user`` namespace (see :mod:`smalldata.signals.spec`): the logged-in customer.
NAMESPACE = Namespace(
    "user",
    signals=(
        signal("user.logged_in", "bool", "the visitor is logged in"),
        signal("user.id", "text", "the customer's id"),
        signal("user.first_name", "text", "first name"),
        signal("user.name", "text", "full name"),
        signal("user.email", "text", "e-mail address"),
        signal("user.phone", "text", "phone number"),
        signal("user.birthday", "date", "date of birth"),
        signal("user.is_birthday", "bool", "today is the customer's birthday (shop time zone)"),
        signal("user.tier", "text", "loyalty tier"),
        signal("user.segment", "text", "customer segment, e.g. an RFM class"),
        signal("user.orders", "number", "number of orders", lower=0),
        signal("user.purchased", "list", "product ids and categories the customer bought"),
        signal("user.last_order_days", "number", "days since the last order", lower=0),
    ),
    groups=(Group(NAMES, lambda parts: parts.users.signals),),
    # the shop's function or a CRM: something to await before deciding
    prefetch=lambda parts: (parts.users.prefetch, None) if parts.users.fetches else None,
)
