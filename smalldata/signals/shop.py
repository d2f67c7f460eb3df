"""The values of the signals a shop declared (``signals:`` in ``smalldata.yaml``, see
:mod:`smalldata.signals.declared`), for one request.

A namespace's ``source`` is the shop's own function, called as ``docs/shop-code.md`` says
(with the page's Starlette ``Request``, in a thread or awaited, within ``timeout_ms``) and
answering a mapping of field names to values. It, or a ``url`` (fetched with the
customer's id, through the same client, timeout, cache and circuit breaker as the CRM),
is awaited before the page is decided, and only when the rules read the namespace.
Declared ``user`` fields are read from the customer's profile.

Every value is checked against its declared type: a value of another type, a source
that fails, is slow or cannot be imported make the fields unknown, never an error page.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from smalldata.foundation.dates import to_date, to_moment
from smalldata.foundation.guest import FAILED, Guest, GuestPool, WrongAnswer, shared_pool
from smalldata.signals.catalog import as_text, list_items
from smalldata.signals.declared import NamespaceSettings
from smalldata.signals.user import Users

if TYPE_CHECKING:
    from smalldata.foundation.remote import RemoteSource
    from smalldata.signals.request import Request, RequestSignals

logger = logging.getLogger("smalldata.signals")

MAX_TEXT = 200
MAX_LIST = 500


class DeclaredNamespace:
    """The provider (:meth:`signals`) and, when there is something to await, the prefetcher of one namespace.

    ``remote`` is the namespace's ``url`` source (made by :class:`smalldata.signals.sources.Sources`);
    ``pool`` the threads its ``source`` runs in.
    """

    def __init__(self, namespace: str, settings: NamespaceSettings, zone: ZoneInfo, users: Users,
                 remote: RemoteSource | None = None, pool: GuestPool | None = None) -> None:
        self.namespace = namespace
        self.fields = Fields(namespace, settings.fields, zone)
        self.users = users
        self.remote = remote
        self.source = settings.source
        self.guest = Guest(settings.source, f"signals.{namespace}.source", timeout=settings.timeout_ms / 1000,
                           pool=pool or shared_pool(), read=read_source) if settings.source else None
        self._key = "signals." + namespace

    @property
    def names(self) -> tuple[str, ...]:
        return self.fields.names

    @property
    def fetches(self) -> bool:
        """May there be something to await before the page (an async source, a url)?"""
        return self.remote is not None or self.source is not None

    def needed(self, request: Request) -> bool:
        """Anything to call for this request: the source (imported when first needed, so a page whose rules
        never read the namespace imports nothing), or a url and a customer (maybe not known yet) to ask it for."""
        if self.remote is not None:
            return self.users.pending or self.users.user_id(request) is not None
        return self.guest is not None and self.guest.function() is not None

    async def prefetch(self, request: Request) -> None:
        if self.remote is not None:
            await self.users.resolve(request)  # the url is keyed by the customer's id
            user_id = self.users.user_id(request)
            if user_id is not None:
                request.prefetched[self._key] = await self.remote.fetch(user_id)
            return
        if self.guest is not None:
            found = await self.guest.call(request.for_shop())
            if found is not FAILED:
                request.prefetched[self._key] = found

    def signals(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        """The provider of the namespace's names: what :meth:`prefetch` got (unknown when it did not run)."""
        return self.fields.read(request.prefetched.get(self._key))


class UserFields:
    """Declared ``user`` fields, read from the logged-in customer's profile (and the app's user)."""

    def __init__(self, fields: Mapping[str, str], zone: ZoneInfo, users: Users) -> None:
        self.fields = Fields("user", fields, zone)
        self.users = users

    @property
    def names(self) -> tuple[str, ...]:
        return self.fields.names

    def signals(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        user = self.users.identity(request)
        if not user or not user.get("logged_in"):
            return self.fields.read(None)
        profile = request.prefetched.get("user.profile")
        return self.fields.read({**user, **profile} if isinstance(profile, Mapping) else user)


class Fields:
    """Typed fields of a namespace: a source's answer → ``{full name: value}``, unknown where it does not fit."""

    def __init__(self, namespace: str, fields: Mapping[str, str], zone: ZoneInfo) -> None:
        self.namespace = namespace
        self.kinds = {field: _COERCE[kind] for field, kind in fields.items()}
        self.types = dict(fields)
        self.zone = zone
        self.names = tuple(f"{namespace}.{field}" for field in fields)
        self._unknown = dict.fromkeys(self.names)
        self._warned: set[str] = set()

    def read(self, found: Any) -> Mapping[str, Any]:
        if found is None:
            return self._unknown
        if not isinstance(found, Mapping):
            self._warn("", f"the source answered {type(found).__name__}, not a mapping of field names to values")
            return self._unknown
        values: dict[str, Any] = {}
        for (field, coerce), name in zip(self.kinds.items(), self.names, strict=True):
            raw = found.get(field)
            value = coerce(raw, self.zone) if raw is not None else None
            if value is None and raw is not None:
                self._warn(field, f"{_shown(raw)} is not {self.types[field]}")
            values[name] = value
        return values

    def _warn(self, field: str, why: str) -> None:
        if field not in self._warned:  # once per field: a source that is always wrong must not flood the log
            self._warned.add(field)
            where = f"{self.namespace}.{field}" if field else f"signals.{self.namespace}"
            logger.warning("%s: %s; read as unknown", where, why)


def read_source(found: Any) -> Any:
    """What a declared ``source`` answered (a mapping, or None: nothing to say), or :class:`WrongAnswer`."""
    if found is None or isinstance(found, Mapping):
        return found
    raise WrongAnswer(f"answered a {type(found).__name__}, not a mapping of field names to values")


def _shown(value: Any) -> str:
    """A value for a log line: short, and never an error itself (``repr(10**5000)`` raises)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        return f"a number of about {value.bit_length() * 3 // 10} digits"
    try:
        text = repr(value)
    except ValueError:  # a huge number inside a list or a mapping
        return f"a {type(value).__name__} holding a number too large to show"
    return text if len(text) <= 80 else text[:77] + "..."


#: The largest number a field holds: about what a float holds (a rule compares numbers as floats,
#: a page's script reads them as doubles); beyond it (10**5000, say) the field is unknown.
MAX_NUMBER = 10**308


def _text(value: Any, zone: ZoneInfo) -> str | None:
    if isinstance(value, bool):  # true is no text: a source's bug, read as unknown
        return None
    text = as_text(value)  # the one coercion given: and --set go through too (SignalCatalog.coerce)
    return text[:MAX_TEXT] if text is not None else None


def _number(value: Any, zone: ZoneInfo) -> int | float | None:
    """A finite number within ±:data:`MAX_NUMBER`, from a number or its text; else None (NaN, inf, too big)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -MAX_NUMBER <= value <= MAX_NUMBER else None
    if isinstance(value, float):
        return value if math.isfinite(value) and -MAX_NUMBER <= value <= MAX_NUMBER else None
    if isinstance(value, str) and len(value) <= 64:  # services often send amounts as text
        try:
            number = float(value.strip())
        except ValueError:
            return None
        if not (math.isfinite(number) and -MAX_NUMBER <= number <= MAX_NUMBER):  # "nan", "inf", "1e999"
            return None
        return int(number) if number.is_integer() and "." not in value else number
    return None


def _yesno(value: Any, zone: ZoneInfo) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _date(value: Any, zone: ZoneInfo) -> date | None:
    return to_date(value, zone)


def _datetime(value: Any, zone: ZoneInfo) -> datetime | None:
    return to_moment(value, zone)


def _list(value: Any, zone: ZoneInfo) -> list[Any] | None:
    if not isinstance(value, list | tuple):
        return None
    return list_items(value[:MAX_LIST])


_COERCE: dict[str, Callable[[Any, ZoneInfo], Any]] = {
    "text": _text, "number": _number, "yesno": _yesno, "date": _date, "datetime": _datetime, "list": _list,
}
