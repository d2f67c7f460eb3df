"""``geo.*``: where the visitor is, from a trusted CDN header or a GeoIP2 City database.

The client address comes from :class:`RequestContext` after trusted-proxy
handling. A CDN country header (``CF-IPCountry``) is believed only when the
direct peer is a configured trusted proxy; otherwise the address is looked up
in the configured ``.mmdb`` with ``maxminddb``, the reader under ``geoip2``
(a private copy of the file, mapped by its C extension when available; a new
version is picked up while running, see :class:`GeoDatabase`), reading the raw
record rather than building ``geoip2`` model objects per request. Private,
loopback and unknown addresses give unknown values: there is no default
country. Addresses are never stored beyond a short in-memory cache.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from smalldata.signals.client import ClientAddress, _address_text, parse_ip
from smalldata.signals.clock import is_open
from smalldata.signals.config import GeoSettings, Schedule, Store
from smalldata.signals.memo import MISSING, ShortMemo
from smalldata.signals.spec import Group, Namespace, signal

if TYPE_CHECKING:
    from smalldata.signals.request import Request, RequestSignals

logger = logging.getLogger("smalldata.signals.geo")

FIELDS = ("country", "region", "city", "continent", "timezone", "latitude", "longitude", "eu")
NAMES = tuple(f"geo.{field}" for field in FIELDS)
STORE_NAMES = ("geo.nearest_store",)
CACHE_SECONDS = 600

EU_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip
# CDN placeholders for "unknown", "Tor", "anonymous proxy", "satellite": not countries
_NOT_COUNTRIES = frozenset({"XX", "T1", "A1", "A2", "O1", "AP", "EU", "ZZ"})
_UNKNOWN: Mapping[str, Any] = dict.fromkeys(NAMES)
_NO_STORE: Mapping[str, Any] = {"geo.nearest_store": None}


class GeoSignals:
    """The provider of ``geo.*`` (but the nearest store): a trusted CDN header, else the database."""

    def __init__(self, settings: GeoSettings, client: ClientAddress) -> None:
        self.header = settings.cdn_country_header.encode("latin-1") if settings.cdn_country_header else None
        self.database = geo_database(settings.database, settings.cache_size) if settings.database else None
        self.client = client

    def __call__(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        if self.header is not None and self.client.peer_trusted(request):
            values = _from_cdn_header(request.header(self.header))
            if values is not None:
                return values
        if self.database is None:
            return _UNKNOWN
        address = self.client(request)
        if not address:
            return _UNKNOWN
        found = self.database.lookup(address)
        return found if found is not None else _UNKNOWN  # shared by every request from the address


def _from_cdn_header(header: str | None) -> dict[str, Any] | None:
    code = (header or "").strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii() or code in _NOT_COUNTRIES:
        return None
    values = dict(_UNKNOWN)
    values["geo.country"] = code
    values["geo.eu"] = code in EU_COUNTRIES
    return values


def _is_public(address: str) -> bool:
    # The client address was parsed a moment ago: reuse that object when it is exactly what
    # ip_address(address) gives (its canonical text is the address), instead of parsing again.
    if _address_text(address) == address:
        parsed = parse_ip(address)
        if parsed is not None:
            return parsed.is_global
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


#: How often (seconds) a database file is looked at for a new version.
CHECK_SECONDS = 5.0


class GeoDatabase:
    """A GeoIP2/GeoLite2 City (or Country) ``.mmdb``, opened on the first lookup.

    The reader maps a private copy of the file, made when it is opened (and the copy
    unlinked at once), never the file itself: a database rewritten in place
    (``cp new.mmdb old.mmdb``, a truncation) would otherwise crash the worker with
    SIGBUS on its next lookup. Every :data:`CHECK_SECONDS` a lookup looks at the
    file's identity, size and time; a new version is copied and opened in a thread
    and swapped in by a later lookup, with the address memo cleared. A missing or
    broken file is logged once and gives unknown values (or keeps the last good one).
    """

    def __init__(self, path: str, cache_size: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.opened = False
        self.lookups = 0
        self.reloads = 0
        self._clock = clock
        self._reader: Any = None
        self._stamp: tuple[int, int, int] | None = None  # the version the reader holds (or last tried)
        self._checked = 0.0
        self._loading = False
        self._next: tuple[Any, tuple[int, int, int]] | None = None
        self._lock = threading.Lock()
        self._cache: ShortMemo[str, dict[str, Any] | None] = ShortMemo(max(cache_size, 1), CACHE_SECONDS)

    def lookup(self, address: str) -> dict[str, Any] | None:
        """``geo`` values for an address, or None when private, loopback or not in the database.

        The answer is shared by every request from the address: copy it before changing it.
        """
        reader = self.current()
        found = self._cache.get(address)
        if found is not MISSING:
            return found  # type: ignore[return-value]
        if reader is None:
            return None
        self.lookups += 1
        try:
            record = reader.get(address)
        except (ValueError, TypeError):  # not an address the database can hold
            record = None
        except maxminddb_error() as exc:  # a corrupt copy (the file changed while copied): the next version fixes it
            logger.warning("GeoIP lookup in %s failed: %s", self.path, exc)
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
                self._stamp = _stamp(self.path)
                self._reader = _open_copy(self.path)
                self._checked = self._clock()
                self.opened = True
        return self._reader

    def current(self) -> Any:
        """The reader to use now: a new version swapped in when one is ready, the file looked at when due."""
        if not self.opened:
            return self.open()
        ready = self._next
        if ready is not None:  # swapped here, in the thread that looks up: no lookup runs on a closed reader
            self._next = None
            old, (self._reader, self._stamp) = self._reader, ready
            self._cache.clear()
            self.reloads += 1
            if old is not None:
                old.close()
            logger.info("GeoIP database %s reloaded", self.path)
        now = self._clock()
        if now - self._checked >= CHECK_SECONDS:
            self._checked = now
            stamp = _stamp(self.path)
            if stamp is not None and stamp != self._stamp and not self._loading:
                self._loading = True
                threading.Thread(target=self._load, args=(stamp,), name="smalldata-geoip", daemon=True).start()
        return self._reader

    def _load(self, stamp: tuple[int, int, int]) -> None:
        try:
            reader = _open_copy(self.path)
            if reader is not None and _stamp(self.path) != stamp:  # changed again while copied: next check
                reader.close()
                return
            if reader is None:
                self._stamp = stamp  # a broken version: keep the last good reader, try again when it changes
                return
            self._next = (reader, stamp)
        except Exception:
            logger.exception("reloading GeoIP database %s failed; keeping the current one", self.path)
        finally:
            self._loading = False


def maxminddb_error() -> type[Exception]:
    import maxminddb

    return maxminddb.InvalidDatabaseError


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns)


def _open_copy(path: str) -> Any:
    """A reader over a private copy of ``path`` (unlinked once mapped); None when unusable."""
    try:
        descriptor, copy = tempfile.mkstemp(prefix="smalldata-geoip-", suffix=".mmdb")
    except OSError as exc:
        logger.warning("cannot copy GeoIP database %s: %s; geo signals will be unknown", path, exc)
        return None
    try:
        with os.fdopen(descriptor, "wb") as out, open(path, "rb") as source:
            shutil.copyfileobj(source, out, 1 << 20)
        return _open_reader(copy, shown=path)
    except OSError as exc:
        logger.warning("cannot open GeoIP database %s: %s; geo signals will be unknown", path, exc)
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(copy)


def _open_reader(path: str, shown: str | None = None) -> Any:
    import maxminddb

    shown = shown or path
    try:
        try:
            reader = maxminddb.open_database(path, maxminddb.MODE_MMAP_EXT)
        except ValueError:  # the C extension is not built on this platform
            reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
    except (OSError, maxminddb.InvalidDatabaseError, ValueError) as exc:
        logger.warning("cannot open GeoIP database %s: %s; geo signals will be unknown", shown, exc)
        return None
    kind = str(reader.metadata().database_type)
    if "City" not in kind and "Country" not in kind:
        logger.warning("GeoIP database %s is a %r database, not City or Country; ignored", shown, kind)
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
    return {
        "geo.country": country,
        "geo.region": region,
        "geo.city": _name(record.get("city")),
        "geo.continent": _code(record.get("continent"), "code"),
        "geo.timezone": _text(location.get("time_zone")),
        "geo.latitude": _number(location.get("latitude")),
        "geo.longitude": _number(location.get("longitude")),
        "geo.eu": (country in EU_COUNTRIES) if country else None,
    }


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


class NearestStore:
    """The provider of ``geo.nearest_store``: ``{name, distance_km, open}`` of the closest store, or None."""

    def __init__(self, stores: tuple[Store, ...], shop: Schedule, size: int = 4096) -> None:
        self.stores = stores
        self.shop = shop  # a store without hours of its own keeps the shop's
        self.size = size
        # per place (city coordinates, not addresses) and minute: the haversines run once per place
        self._found: dict[tuple[float, float, int, int, int], Mapping[str, Any]] = {}

    def __call__(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        latitude, longitude = signals["geo.latitude"], signals["geo.longitude"]
        if latitude is None or longitude is None or not self.stores:
            return _NO_STORE
        now = request.now
        key = (latitude, longitude, now.day, now.hour, now.minute)
        found = self._found.get(key)
        if found is None:
            distance, store = min(
                ((haversine_km(latitude, longitude, store.latitude, store.longitude), store) for store in self.stores),
                key=lambda pair: pair[0],
            )
            schedule = store if store.opening_hours is not None else self.shop
            nearest = {"name": store.name, "distance_km": round(distance, 1), "open": is_open(schedule, now)}
            found = {"geo.nearest_store": nearest}
            if len(self._found) >= self.size:
                self._found = {}
            self._found[key] = found
        return found  # shared by every visitor from the place this minute: read it, never change it


#: The ``geo`` namespace (see :mod:`smalldata.signals.spec`).
NAMESPACE = Namespace(
    "geo",
    signals=(
        signal("geo.country", "text", "ISO country code"),
        signal("geo.region", "text", "region or state"),
        signal("geo.city", "text", "city"),
        signal("geo.continent", "text", "continent code"),
        signal("geo.timezone", "text", "the visitor's IANA time zone"),
        signal("geo.latitude", "number", "latitude", lower=-90, upper=90),
        signal("geo.longitude", "number", "longitude", lower=-180, upper=180),
        signal("geo.eu", "bool", "the country is in the EU"),
        signal("geo.nearest_store", "map", "the nearest store (name, distance_km, open)"),
        signal("geo.nearest_store.name", "text", "the nearest store's name"),
        signal("geo.nearest_store.distance_km", "number", "distance to the nearest store", lower=0),
        signal("geo.nearest_store.open", "bool", "the nearest store is open now"),
    ),
    groups=(
        Group(NAMES, lambda parts: GeoSignals(parts.settings.geo, parts.client)),
        Group(STORE_NAMES, lambda parts: NearestStore(parts.settings.stores, parts.settings)),
    ),
)
