"""``geo.*``: where the visitor is, from a trusted CDN header or a GeoIP2 City database.

The client address comes from :class:`RequestContext` after trusted-proxy
handling. A CDN country header (``CF-IPCountry``) is believed only when the
direct peer is a configured trusted proxy; otherwise the address is looked up
in the configured ``.mmdb`` (opened once, in the C extension's mmap mode when
available) with ``maxminddb``, the reader under ``geoip2``, reading the raw
record rather than building ``geoip2`` model objects per request. Private,
loopback and unknown addresses give unknown values: there is no default
country. Addresses are never stored beyond a short in-memory cache.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
from typing import TYPE_CHECKING, Any

from smalldata.settings import Settings, Store
from smalldata.signals.clock import is_open
from smalldata.signals.context import _address_text, parse_ip
from smalldata.signals.memo import MISSING, ShortMemo

if TYPE_CHECKING:
    from smalldata.signals.context import RequestContext

logger = logging.getLogger("smalldata.signals.geo")

FIELDS = ("country", "region", "city", "continent", "timezone", "latitude", "longitude", "eu", "nearest_store")
CACHE_SECONDS = 600

EU_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip
# CDN placeholders for "unknown", "Tor", "anonymous proxy", "satellite": not countries
_NOT_COUNTRIES = frozenset({"XX", "T1", "A1", "A2", "O1", "AP", "EU", "ZZ"})


def geo_signals(ctx: RequestContext) -> dict[str, Any]:
    """The ``geo`` namespace for one request."""
    settings = ctx.settings
    values = _from_cdn_header(ctx)
    if values is None:
        values = _from_database(ctx)
    values["nearest_store"] = nearest_store(settings, values.get("latitude"), values.get("longitude"), ctx)
    return values


_UNKNOWN: dict[str, Any] = dict.fromkeys(FIELDS)


def _unknown() -> dict[str, Any]:
    return _UNKNOWN.copy()  # a copy of a ready dict: a third of dict.fromkeys' time


def _from_cdn_header(ctx: RequestContext) -> dict[str, Any] | None:
    header = ctx.settings.geo.cdn_country_header
    if not header or not ctx.peer_trusted:
        return None
    code = (ctx.headers.get(header) or "").strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii() or code in _NOT_COUNTRIES:
        return None
    values = _unknown()
    values["country"] = code
    values["eu"] = code in EU_COUNTRIES
    return values


def _from_database(ctx: RequestContext) -> dict[str, Any]:
    path = ctx.settings.geo.database
    address = ctx.client_ip
    if not path or not address:
        return _unknown()
    found = geo_database(path, ctx.settings.geo.cache_size).lookup(address)
    return dict(found) if found is not None else _unknown()  # a copy: nearest_store is added to it


def _is_public(address: str) -> bool:
    # The request's context parsed this text a moment ago: reuse that object when it is exactly
    # what ip_address(address) gives (its canonical text is the address), instead of parsing again.
    if _address_text(address) == address:
        parsed = parse_ip(address)
        if parsed is not None:
            return parsed.is_global
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


class GeoDatabase:
    """A GeoIP2/GeoLite2 City (or Country) ``.mmdb``, opened on the first lookup.

    A missing or broken file is logged once and gives unknown values.
    """

    def __init__(self, path: str, cache_size: int = 50_000) -> None:
        self.path = path
        self.opened = False
        self.lookups = 0
        self._reader: Any = None
        self._lock = threading.Lock()
        self._cache: ShortMemo[str, dict[str, Any] | None] = ShortMemo(max(cache_size, 1), CACHE_SECONDS)

    def lookup(self, address: str) -> dict[str, Any] | None:
        """``geo`` values for an address, or None when private, loopback or not in the database.

        The answer is shared by every request from the address: copy it before changing it.
        """
        found = self._cache.get(address)
        if found is not MISSING:
            return found  # type: ignore[return-value]
        reader = self.open()
        if reader is None:
            return None
        self.lookups += 1
        try:
            record = reader.get(address)
        except (ValueError, TypeError):  # not an address the database can hold
            record = None
        # the private-address test (~4 µs) costs more than the lookup: only for addresses the database knows
        values = _values(record) if isinstance(record, dict) and _is_public(address) else None
        self._cache.put(address, values)
        return values

    def close(self) -> None:
        """Close the reader (tests; the process normally keeps it open)."""
        with self._lock:
            if self._reader is not None:
                self._reader.close()
            self._reader = None
            self.opened = False
            self._cache.clear()

    def open(self) -> Any:
        """Open the file once (at start-up, or on the first lookup); None when it is unusable."""
        if self.opened:
            return self._reader
        with self._lock:
            if not self.opened:
                self._reader = _open_reader(self.path)
                self.opened = True
        return self._reader


def _open_reader(path: str) -> Any:
    import maxminddb

    try:
        try:
            reader = maxminddb.open_database(path, maxminddb.MODE_MMAP_EXT)
        except ValueError:  # the C extension is not built on this platform
            reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
    except (OSError, maxminddb.InvalidDatabaseError, ValueError) as exc:
        logger.warning("cannot open GeoIP database %s: %s; geo signals will be unknown", path, exc)
        return None
    kind = str(reader.metadata().database_type)
    if "City" not in kind and "Country" not in kind:
        logger.warning("GeoIP database %s is a %r database, not City or Country; ignored", path, kind)
        reader.close()
        return None
    return reader


_databases: dict[str, GeoDatabase] = {}
_databases_lock = threading.Lock()


def geo_database(path: str, cache_size: int = 50_000) -> GeoDatabase:
    """The process-wide :class:`GeoDatabase` for ``path`` (one reader per file, made on first use)."""
    database = _databases.get(path)
    if database is None:
        with _databases_lock:
            database = _databases.setdefault(path, GeoDatabase(path, cache_size))
    return database


def _values(record: dict[str, Any]) -> dict[str, Any]:
    country = _code(record.get("country")) or _code(record.get("registered_country"))
    location = record.get("location")
    if not isinstance(location, dict):
        location = {}
    subdivisions = record.get("subdivisions")
    region = _name(subdivisions[0]) if isinstance(subdivisions, list) and subdivisions else None
    values = _unknown()
    values.update(
        country=country,
        region=region,
        city=_name(record.get("city")),
        continent=_code(record.get("continent"), "code"),
        timezone=_text(location.get("time_zone")),
        latitude=_number(location.get("latitude")),
        longitude=_number(location.get("longitude")),
        eu=(country in EU_COUNTRIES) if country else None,
    )
    return values


def _code(part: Any, key: str = "iso_code") -> str | None:
    return _text(part.get(key)) if isinstance(part, dict) else None


def _name(part: Any) -> str | None:
    if not isinstance(part, dict) or not isinstance(part.get("names"), dict):
        return None
    return _text(part["names"].get("en"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# -- stores ------------------------------------------------------------------------------------

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def nearest_store(
    settings: Settings, latitude: float | None, longitude: float | None, ctx: RequestContext
) -> dict[str, Any] | None:
    """``{name, distance_km, open}`` of the closest configured store, or None."""
    if latitude is None or longitude is None or not settings.stores:
        return None
    name, distance, store = _CLOSEST.find(settings.stores, latitude, longitude)
    return {
        "name": name,
        "distance_km": distance,
        "open": is_open(store if store.opening_hours is not None else settings, ctx.now),
    }


class _Closest:
    """The closest store (name, rounded distance, store) per location and list of stores.

    Visitors come from a few thousand places (city coordinates, not addresses),
    so the haversines run once per place, not once per request.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._found: dict[tuple[float, float], tuple[tuple[Store, ...], str, float, Store]] = {}

    def find(self, stores: tuple[Store, ...], latitude: float, longitude: float) -> tuple[str, float, Store]:
        found = self._found.get((latitude, longitude))
        if found is None or found[0] is not stores:  # each answer names the store list it is for
            best: tuple[float, Store] = min(
                ((haversine_km(latitude, longitude, store.latitude, store.longitude), store) for store in stores),
                key=lambda pair: pair[0],
            )
            found = (stores, best[1].name, round(best[0], 1), best[1])
            if len(self._found) >= self.size:
                self._found = {}
            self._found[(latitude, longitude)] = found
        return found[1], found[2], found[3]


_CLOSEST = _Closest()
