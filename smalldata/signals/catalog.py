"""The catalogue of every signal name a rule may read (README.md, "Signals").

The rule loader validates names against this table, so a typo such as
``vistor.returning`` is caught before any request. Each entry says the value's
kind, which decides the operators and literal types a rule may use with it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["bool", "number", "text", "datetime", "date", "list", "map", "records"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYPARTS = ("night", "morning", "afternoon", "evening")
DEVICE_TYPES = ("mobile", "tablet", "desktop", "bot", "other")


@dataclass(frozen=True)
class SignalSpec:
    """What one signal holds.

    ``choices`` closes a text signal's vocabulary (a rule comparing with any other
    word can never match); ``cycle`` makes ``between`` wrap around (hours across
    midnight); ``map_of`` marks a mapping whose keys a rule may address with one
    more dotted part, and ``missing`` is the value of an absent key.
    """

    name: str
    kind: Kind
    doc: str
    choices: tuple[str, ...] = ()
    cycle: int | None = None
    lower: float | None = None
    upper: float | None = None
    map_of: Kind | None = None
    missing: object = None

    @property
    def namespace(self) -> str:
        return self.name.split(".", 1)[0]


def _s(name: str, kind: Kind, doc: str, **extra: object) -> SignalSpec:
    return SignalSpec(name, kind, doc, **extra)  # type: ignore[arg-type]


SIGNALS: dict[str, SignalSpec] = {
    spec.name: spec
    for spec in [
        # visitor: first-party visitor state
        _s("visitor.id", "text", "the visitor's pseudonymous id"),
        _s("visitor.returning", "bool", "seen in an earlier visit"),
        _s("visitor.visits", "number", "number of visits (a visit ends after 30 minutes idle)", lower=0),
        _s("visitor.first_seen", "datetime", "when the visitor was first seen"),
        _s("visitor.last_seen", "datetime", "the visitor's previous request before this one"),
        _s("visitor.days_since_last_visit", "number", "days since the previous visit", lower=0),
        _s("visitor.pageviews", "number", "page views in this visit", lower=0),
        _s("visitor.seconds_on_site", "number", "seconds since this visit began", lower=0),
        _s("visitor.tags", "list", "tags added by rules"),
        # user: the logged-in customer
        _s("user.logged_in", "bool", "the visitor is logged in"),
        _s("user.id", "text", "the customer's id"),
        _s("user.first_name", "text", "first name"),
        _s("user.name", "text", "full name"),
        _s("user.email", "text", "e-mail address"),
        _s("user.phone", "text", "phone number"),
        _s("user.birthday", "date", "date of birth"),
        _s("user.is_birthday", "bool", "today is the customer's birthday (shop time zone)"),
        _s("user.tier", "text", "loyalty tier"),
        _s("user.segment", "text", "customer segment, e.g. an RFM class"),
        _s("user.orders", "number", "number of orders", lower=0),
        _s("user.purchased", "list", "product ids and categories the customer bought"),
        _s("user.last_order_days", "number", "days since the last order", lower=0),
        # time: the clock in the shop's time zone
        _s("time.now", "datetime", "the current time in the shop's time zone"),
        _s("time.hour", "number", "hour of the day, 0-23", cycle=24, lower=0, upper=23),
        _s("time.minute", "number", "minute of the hour, 0-59", cycle=60, lower=0, upper=59),
        _s("time.weekday", "text", "day of the week", choices=WEEKDAYS),
        _s("time.date", "date", "today's date"),
        _s("time.month", "number", "month, 1-12", cycle=12, lower=1, upper=12),
        _s("time.daypart", "text", "part of the day", choices=DAYPARTS),
        _s("time.open", "bool", "inside the shop's opening hours"),
        _s("time.event", "list", "named calendar events active now"),
        # basket
        _s("basket.items", "records", "the basket lines"),
        _s("basket.count", "number", "number of items", lower=0),
        _s("basket.total", "number", "basket value", lower=0),
        _s("basket.currency", "text", "currency code"),
        _s("basket.skus", "list", "product ids in the basket"),
        _s("basket.categories", "list", "categories in the basket"),
        _s("basket.empty", "bool", "the basket is empty"),
        _s("basket.free_shipping_gap", "number", "amount left to free shipping", lower=0),
        # geo
        _s("geo.country", "text", "ISO country code"),
        _s("geo.region", "text", "region or state"),
        _s("geo.city", "text", "city"),
        _s("geo.continent", "text", "continent code"),
        _s("geo.timezone", "text", "the visitor's IANA time zone"),
        _s("geo.latitude", "number", "latitude", lower=-90, upper=90),
        _s("geo.longitude", "number", "longitude", lower=-180, upper=180),
        _s("geo.eu", "bool", "the country is in the EU"),
        _s("geo.nearest_store", "map", "the nearest store (name, distance_km, open)"),
        _s("geo.nearest_store.name", "text", "the nearest store's name"),
        _s("geo.nearest_store.distance_km", "number", "distance to the nearest store", lower=0),
        _s("geo.nearest_store.open", "bool", "the nearest store is open now"),
        # device
        _s("device.type", "text", "kind of device", choices=DEVICE_TYPES),
        _s("device.os", "text", "operating system family"),
        _s("device.browser", "text", "browser family"),
        _s("device.is_bot", "bool", "a crawler or bot"),
        _s("device.is_touch", "bool", "a touch device"),
        # page
        _s("page.path", "text", "the request path"),
        _s("page.url", "text", "the full URL"),
        _s("page.query", "map", "query parameters", map_of="text"),
        _s("page.category", "text", "category from the configured path patterns"),
        _s("page.product", "text", "product id from the configured path patterns"),
        _s("page.language", "text", "preferred language from Accept-Language"),
        _s("page.referrer", "text", "the Referer header"),
        # campaign: the visit's first request
        _s("campaign.source", "text", "utm_source"),
        _s("campaign.medium", "text", "utm_medium"),
        _s("campaign.name", "text", "utm_campaign"),
        _s("campaign.referrer_domain", "text", "domain of the visit's referrer"),
        _s("campaign.landing_path", "text", "the visit's first path"),
        _s("campaign.email", "bool", "arrived from a marketing e-mail"),
        # history: first-party visitor state
        _s("history.viewed_products", "list", "recently viewed products, most recent first"),
        _s("history.viewed_categories", "list", "recently viewed categories, most recent first"),
        _s("history.category_views", "map", "views per category", map_of="number", missing=0),
        _s("history.searches", "list", "recent searches"),
        _s("history.last_category", "text", "the category viewed last"),
        # consent
        _s("consent.personalisation", "bool", "the visitor allows personalisation"),
        _s("consent.storage", "bool", "the visitor allows storage (cookies, state)"),
    ]
}

NAMESPACES: tuple[str, ...] = tuple(dict.fromkeys(spec.namespace for spec in SIGNALS.values()))


@dataclass(frozen=True)
class SignalRef:
    """A resolved signal name: the catalogue entry plus an optional key into a mapping."""

    name: str
    spec: SignalSpec
    key: str | None = None

    @property
    def base(self) -> str:
        """The name a signals object is asked for (``history.category_views``)."""
        return self.spec.name

    @property
    def value_spec(self) -> SignalSpec:
        """The entry describing the value this reference yields (a declared field's own)."""
        if self.key is not None and self.name in SIGNALS:
            return SIGNALS[self.name]
        return self.spec

    @property
    def kind(self) -> Kind:
        if self.key is not None and self.name not in SIGNALS and self.spec.map_of is not None:
            return self.spec.map_of
        return self.value_spec.kind

    @property
    def missing(self) -> object:
        """What an absent key reads as (0 for a view count); None for a whole signal or a declared field."""
        return self.spec.missing if self.key is not None and self.name not in SIGNALS else None


_KIND_WORDS = {
    "bool": "true or false", "number": "a number", "text": "text", "datetime": "a time such as 2026-12-24T18:00",
    "date": "a date such as 2026-12-24", "list": "a list such as [a, b]", "map": "a mapping such as {shoes: 3}",
    "records": "a list of mappings",
}




class Catalog:
    """The signals one shop's rules may read: the built-in ones and the fields the shop declared
    (``signals:`` in ``smalldata.yaml``; see :mod:`smalldata.signals.declared`)."""

    def __init__(self, specs: Mapping[str, SignalSpec]) -> None:
        self.specs = dict(specs)
        self.namespaces: tuple[str, ...] = tuple(dict.fromkeys(spec.namespace for spec in self.specs.values()))

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def with_fields(self, specs: Iterable[SignalSpec]) -> Catalog:
        """This catalogue and ``specs`` (a shop's own fields)."""
        return Catalog({**self.specs, **{spec.name: spec for spec in specs}})

    def names(self, namespace: str) -> list[str]:
        """The signal names of ``namespace``, in catalogue order."""
        prefix = namespace + "."
        return [name for name in self.specs if name.startswith(prefix)]

    def resolve(self, name: str) -> SignalRef | None:
        """Look a dotted name up, allowing one extra part on mapping signals."""
        specs = self.specs
        spec = specs.get(name)
        if spec is not None:
            if spec.name.count(".") == 2:  # a declared field of a mapping, e.g. geo.nearest_store.name
                parent = specs[spec.name.rsplit(".", 1)[0]]
                return SignalRef(name, parent, spec.name.rsplit(".", 1)[1])
            return SignalRef(name, spec)
        base, _, key = name.rpartition(".")
        mapping = specs.get(base)
        if mapping is not None and mapping.map_of is not None and key:
            return SignalRef(name, mapping, key)
        return None

    def value_problem(self, name: str, value: object) -> str | None:
        """Why ``value`` cannot be what signal ``name`` holds (for ``given:`` and ``--set``), or None."""
        from datetime import date, datetime

        ref = self.resolve(name)
        if ref is None or value is None:
            return None
        kind = ref.kind
        fits = {
            "bool": isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "text": isinstance(value, str | int | float) and not isinstance(value, bool),
            "datetime": isinstance(value, datetime | date),
            "date": isinstance(value, date),
            "list": isinstance(value, list),
            "map": isinstance(value, dict),
            "records": isinstance(value, list) and all(isinstance(v, dict) for v in value),
        }[kind]
        if not fits:
            return f"{name} is {_KIND_WORDS[kind]}, not {value!r}"
        choices = ref.value_spec.choices
        if choices and as_text(value) not in choices:
            return f"{name} is one of {', '.join(choices)}, not {value!r}"
        return None

    def coerce(self, name: str, value: Any) -> Any:
        """``value`` as the shop would hold it for signal ``name`` (given by ``given:``, ``--set`` or a preview):
        a number for a text field becomes its text, a list's numbers their texts — what a source's answer
        becomes (:func:`as_text`), so ``try``, tests, previews and the shop agree. Other values are unchanged."""
        ref = self.resolve(name)
        if ref is None or value is None:
            return value
        if ref.kind == "text" and not isinstance(value, str):
            text = as_text(value)
            return value if text is None else text
        if ref.kind == "list" and isinstance(value, list | tuple):
            return list_items(value)
        return value


_LARGEST = 10**308


def as_text(value: object) -> str | None:
    """The one way a value becomes text for a text field or a list item, wherever it comes from (a source,
    ``given:``, ``--set``, a preview, a rule's literal): ``10`` and ``10.0`` are ``"10"``, ``2.5`` is ``"2.5"``,
    true is ``"true"``; None for what is no single value (a mapping, a list, null)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):  # beyond what a float holds (10**5000) no field keeps it, and str() of it raises
        return str(value) if -_LARGEST <= value <= _LARGEST else None
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value) if math.isfinite(value) else None
    return None


def list_items(values: Iterable[object]) -> list[str]:
    """A list signal's items as texts (:func:`as_text`); what is no single value is left out."""
    return [text for text in map(as_text, values) if text is not None]


#: The built-in signals, for code that reads no shop's settings.
BUILT_IN = Catalog(SIGNALS)
resolve = BUILT_IN.resolve
value_problem = BUILT_IN.value_problem


def fold(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``geo.nearest_store.name=X`` becomes ``{"geo.nearest_store": {"name": "X"}}``."""
    folded: dict[str, Any] = {}
    for name, value in overrides.items():
        ref = resolve(name)
        if ref is not None and ref.key is not None:
            mapping = dict(folded.get(ref.base) or {})
            mapping[ref.key] = value
            folded[ref.base] = mapping
        else:
            folded[name] = value
    return folded
