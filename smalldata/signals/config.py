"""How a shop configures its signals (``smalldata.yaml``): hours, calendar, page patterns, geo, stores,
the user and basket sources.

Schedules (opening hours, calendar events) and path patterns are parsed here, at
load time, so a typo such as ``"9-17"`` is reported with its line and the request
path only compares ready-made numbers. :class:`smalldata.settings.Settings` holds
these models; the signal providers receive them (never the whole settings).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, field_validator, model_validator

from smalldata.foundation.dotted import Dotted
from smalldata.foundation.remote import RemoteSettings, check_http_url
from smalldata.signals.declared import NamespaceSettings
from smalldata.state.config import ConsentSettings

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- opening hours -----------------------------------------------------------------------------


class TimeRange(NamedTuple):
    """Opening minutes of one day: ``start`` up to (not including) ``end``, minutes after midnight.

    ``end <= start`` means the range runs past midnight into the next day
    (``"22:00-02:00"``); ``end == 1440`` is ``24:00``.
    """

    start: int
    end: int


_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_CLOSED_WORDS = {"", "closed", "none"}


def _minutes(hours: str, minutes: str, *, allow_24: bool) -> int:
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 1440 or (value == 1440 and not allow_24):
        raise ValueError(f"'{hours}:{minutes}' is not a time of day")
    return value


def _parse_range(text: str) -> TimeRange:
    match = _RANGE.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not an opening time like \"09:00-17:30\"")
    start = _minutes(match[1], match[2], allow_24=False)
    end = _minutes(match[3], match[4], allow_24=True)
    if start == end:
        raise ValueError(f"'{text}' opens and closes at the same minute")
    return TimeRange(start, end)


def _parse_hours(value: Any) -> tuple[TimeRange, ...]:
    """``"09:00-17:30"``, ``["10:00-12:00", "13:00-17:00"]``, ``closed``/``[]``/null → ranges."""
    if value is None or value is False:
        return ()
    if isinstance(value, str):
        if value.strip().lower() in _CLOSED_WORDS:
            return ()
        return (_parse_range(value),)
    if isinstance(value, list | tuple):
        ranges: list[TimeRange] = []
        for item in value:
            if isinstance(item, TimeRange):
                ranges.append(item)
            elif isinstance(item, str):
                ranges.append(_parse_range(item))
            else:
                raise ValueError("each opening time must be text like \"09:00-17:30\"")
        return tuple(ranges)
    raise ValueError("opening hours must be text like \"09:00-17:30\", a list of those, or closed")


Hours = Annotated[tuple[TimeRange, ...], PlainValidator(_parse_hours)]


# -- calendar events ---------------------------------------------------------------------------


class MonthDay(NamedTuple):
    """A day that recurs every year (``"12-24"``)."""

    month: int
    day: int


_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")


def _parse_when(value: Any) -> MonthDay | date | datetime:
    if isinstance(value, MonthDay | date):  # datetime is a date too
        return value
    if not isinstance(value, str):
        raise ValueError("a calendar day must be a date (2026-12-24), a date-time or a yearly day (12-24)")
    text = value.strip()
    match = _MONTH_DAY.match(text)
    if match:
        month, day = int(match[1]), int(match[2])
        try:
            date(2024, month, day)  # a leap year, so 02-29 is allowed
        except ValueError:
            raise ValueError(f"'{text}' is not a day of the year (MM-DD)") from None
        return MonthDay(month, day)
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a date, a date-time or a yearly day like 12-24") from None


When = Annotated[MonthDay | date | datetime, PlainValidator(_parse_when)]


class Event(_Model):
    """A named calendar event: from a day (or moment) until a day (inclusive) or moment (exclusive).

    Yearly events use ``MM-DD`` on both ends and may wrap the new year
    (``from: 12-28, until: 01-02``). Date-times without an offset are in the shop's time zone.
    """

    start: When = Field(alias="from")
    until: When

    @model_validator(mode="after")
    def _same_kind(self) -> Event:
        if isinstance(self.start, MonthDay) != isinstance(self.until, MonthDay):
            raise ValueError("use yearly days (MM-DD) on both 'from' and 'until', or dates on both")
        if not isinstance(self.start, MonthDay) and _as_datetime(self.until) < _as_datetime(self.start):
            raise ValueError("'until' is before 'from'")
        return self


def _as_datetime(value: date | datetime | MonthDay) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    assert isinstance(value, date)
    return datetime(value.year, value.month, value.day)


# -- page, geo, stores -------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
PAGE_KEYS = ("category", "product")


def compile_path_pattern(pattern: str) -> re.Pattern[str]:
    """``/products/{product}`` → a regex with a named group per placeholder (one path segment each)."""
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[last : match.start()]))
        parts.append(f"(?P<{match[1]}>[^/]+)")
        last = match.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("".join(parts) + "/?$")


def _patterns(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise ValueError("a path pattern must be text like \"/products/{product}\" or a list of those")
    for item in items:
        if not item.startswith("/"):
            raise ValueError(f"path pattern '{item}' must start with '/'")
        names = _PLACEHOLDER.findall(item)
        if len(names) != len(set(names)):
            raise ValueError(f"path pattern '{item}' names a placeholder twice")
        if "{" in _PLACEHOLDER.sub("", item) or "}" in _PLACEHOLDER.sub("", item):
            raise ValueError(f"path pattern '{item}' has a broken {{placeholder}}")
    return tuple(items)


Patterns = Annotated[tuple[str, ...], PlainValidator(_patterns)]


class PageSettings(_Model):
    """Path patterns giving ``page.category`` and ``page.product``.

    ``product: "/products/{product}"`` fills ``page.product`` from the path; a
    pattern may also name the other key (``"/shop/{category}/{product}"``).
    Other placeholders (``{slug}``) match one segment and are ignored.
    """

    category: Patterns = ()
    product: Patterns = ()

    @model_validator(mode="after")
    def _names_its_key(self) -> PageSettings:
        for key in PAGE_KEYS:
            for pattern in getattr(self, key):
                if f"{{{key}}}" not in pattern:
                    raise ValueError(f"{key} pattern '{pattern}' has no {{{key}}} placeholder")
        return self


class CampaignSettings(_Model):
    """What counts as arriving from a marketing e-mail."""

    email_mediums: tuple[str, ...] = ("email", "e-mail", "newsletter")
    email_params: tuple[str, ...] = ()


class GeoSettings(_Model):
    """Where ``geo.*`` comes from: a trusted CDN country header, else a GeoIP2 City database."""

    database: str | None = None
    cdn_country_header: str | None = None
    cache_size: int = Field(default=50_000, ge=0)

    @field_validator("cdn_country_header")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else None


class Store(_Model):
    """A physical store, for ``geo.nearest_store``. Without its own hours it uses the shop's."""

    name: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    opening_hours: dict[Weekday, Hours] | None = None
    closed_dates: tuple[date, ...] = ()
    special_days: dict[date, Hours] = {}


# -- remote sources ----------------------------------------------------------------------------

def _url_with_id(value: str | None) -> str | None:
    if value is not None:
        check_http_url(value)
    if value is not None and "{id}" not in value:
        raise ValueError(f"'{value}' must contain {{id}}, where the id goes")
    return value


class UserSettings(RemoteSettings):
    """Who the logged-in customer is, and where to enrich the profile.

    ``profile_url`` contains ``{id}``, the user's id, e.g. ``https://crm/profiles/{id}``.
    """

    session_key: str | None = None
    callable: Dotted | None = None
    profile_url: str | None = None


    @field_validator("profile_url")
    @classmethod
    def _profile_url(cls, value: str | None) -> str | None:
        return _url_with_id(value)


class BasketSettings(RemoteSettings):
    """Where the basket comes from; the first configured source that answers wins.

    ``service_url`` contains ``{id}``: the value of the ``id_cookie`` cookie, else the user's id.
    """

    session_key: str | None = None
    cookie: str | None = None
    callable: Dotted | None = None
    service_url: str | None = None
    id_cookie: str | None = None
    currency: str | None = None
    free_shipping_threshold: float | None = Field(default=None, ge=0)


    @field_validator("service_url")
    @classmethod
    def _service_url(cls, value: str | None) -> str | None:
        return _url_with_id(value)


class ShopCodeSettings(_Model):
    """How the shop's own functions are called (``user.callable``, ``basket.callable``, declared ``source``s).

    ``threads``: how many of them may run at once in smalldata's own threads (a plain function runs
    there, never on the event loop; see ``docs/shop-code.md``).
    """

    threads: int = Field(default=4, ge=1, le=64)


def _networks(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("trusted_proxies must be a list of IP addresses or networks")
    for item in items:
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            raise ValueError(f"'{item}' is not an IP address or network (like 10.0.0.0/8)") from None
    return tuple(str(item) for item in items)


Networks = Annotated[tuple[str, ...], PlainValidator(_networks)]


class Schedule(Protocol):
    """Anything with opening hours: the shop's ``Settings`` or a ``Store`` with its own hours.

    No opening hours and no special days is *unknown*, not *closed*: ``open`` is then null.
    """

    @property
    def opening_hours(self) -> Mapping[Any, tuple[TimeRange, ...]] | None: ...

    @property
    def closed_dates(self) -> tuple[date, ...]: ...

    @property
    def special_days(self) -> Mapping[date, tuple[TimeRange, ...]]: ...


class SignalSettings(Schedule, Protocol):
    """What the signal layer reads of a shop's settings (:class:`smalldata.settings.Settings` has it all):
    the shop's own opening hours (a :class:`Schedule`) and the rest below.

    The signal providers are built from this and nothing more (:func:`smalldata.signals.providers.build`).
    """

    @property
    def zone(self) -> ZoneInfo: ...

    @property
    def languages(self) -> tuple[str, ...]: ...

    @property
    def calendar(self) -> Mapping[str, Event]: ...

    @property
    def page(self) -> PageSettings: ...

    @property
    def campaign(self) -> CampaignSettings: ...

    @property
    def trusted_proxies(self) -> tuple[str, ...]: ...

    @property
    def geo(self) -> GeoSettings: ...

    @property
    def stores(self) -> tuple[Store, ...]: ...

    @property
    def user(self) -> UserSettings: ...

    @property
    def basket(self) -> BasketSettings: ...

    @property
    def consent(self) -> ConsentSettings: ...

    @property
    def signals(self) -> Mapping[str, NamespaceSettings]: ...
