"""What smalldata remembers about one visitor between requests: a small dict of epoch seconds.

A request's life with state::

    state = store.load(...)               # or VisitorState.new(now) for someone never seen
    state.touch(now)                      # a new visit after 30 idle minutes, else one more page
    state.record_page(product="sku-1", category="shoes")
    decision = engine.decide(signals, caps=state.caps_at(period), visitor_id=state.id)
    new_exposures = state.apply(decision, period)
    if state.changed:                     # only then is a cookie (or a Redis key) written
        store.save(state, ...)

The stored form (:attr:`VisitorState.data`) is the dict itself, with one-letter keys::

    {"i": id, "f": first seen, "n": visits, "l": last seen, "s": visit start, "p": page views,
     "q": end of the previous visit, "t": [tags], "c": {rule: cap counters}, "h": history,
     "m": {campaign of this visit}, "x": [exposures reported], "u": hash of the linked user,
     "v": the format}

State is checked when it is read from anywhere that could hold anything (a server
store, a cookie from an older version) and marked with :data:`FORMAT`; a signed
cookie carrying the mark was written by this code from checked state, so it is
used as it is (:meth:`VisitorState.from_signed`).

Times are whole epoch seconds. ``last_seen`` moves only when it is at least a minute
old (:data:`LAST_SEEN_STEP`), so a visitor clicking through pages within a minute
changes nothing that needs writing back; visits therefore end after 30 idle minutes
*to the minute*. Page views are counted only when a rule reads them
(``count_pageviews``), for the same reason. Everything kept is bounded, so the
state fits in one small cookie.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from smalldata.decision import Decision, Exposure
from smalldata.state.caps import CapLedger, CapView, Period
from smalldata.state.config import HistorySettings

__all__ = ["FORMAT", "LAST_SEEN_STEP", "History", "VisitorState", "is_visitor_id", "new_visitor_id"]

_TEXT = 64  # longest product id, category, search, tag or campaign value kept
_TAGS = 20
_EXPOSURES = 12
_CAMPAIGN_KEYS = 8
_CAMPAIGN_KINDS = (str, bool, int)
DEFAULT_IDLE = timedelta(minutes=30)
#: ``last_seen`` is written back when it is at least this many seconds old.
LAST_SEEN_STEP = 60
_DEFAULT_LIMITS = HistorySettings()  # frozen: one shared default
_MAX_COUNT = 2**40
#: The stored form this code writes (``"v"``): a signed cookie with it needs no checking.
FORMAT = 1
_INT = frozenset({int})


def new_visitor_id() -> str:
    """A random, URL-safe, 12-character visitor id (72 bits)."""
    return secrets.token_urlsafe(9)


def _epoch(moment: datetime | int) -> int:
    return moment if type(moment) is int else int(moment.timestamp())  # type: ignore[union-attr]


def _time(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class History:
    """Recent browsing, most recent first, plus view counts per category (a view of ``data["h"]``)."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = data if data is not None else {}

    @property
    def products(self) -> list[str]:
        return self.data.get("p") or []

    @property
    def categories(self) -> list[str]:
        return self.data.get("c") or []

    @property
    def category_views(self) -> dict[str, int]:
        return self.data.get("v") or {}

    @property
    def searches(self) -> list[str]:
        return self.data.get("s") or []

    def record(self, limits: HistorySettings, product: object = None, category: object = None,
               search: object = None) -> bool:
        """Remember one page view's product, category and search (each optional; text or numbers,
        anything else is ignored). Returns whether anything changed."""
        return _record(self.data, limits, product, category, search)

    def merge_older(self, older: History, limits: HistorySettings) -> None:
        """Append another device's history after this one (which is taken as more recent)."""
        data = self.data
        for key, limit in (("p", limits.products), ("c", limits.categories), ("s", limits.searches)):
            merged = list(dict.fromkeys([*(data.get(key) or ()), *(older.data.get(key) or ())]))[:limit]
            _put(data, key, merged)
        theirs = older.category_views
        views = dict(theirs)
        for category, count in self.category_views.items():
            views.pop(category, None)
            views[category] = max(count, theirs.get(category, 0))
        _bound_views(views, limits.category_views)
        _put(data, "v", views)

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.data.items() if value}

    @classmethod
    def from_json(cls, data: Any, limits: HistorySettings) -> History | None:
        """A copy of stored history, bounded; ``None`` when malformed."""
        if type(data) is not dict:
            return None
        copied = dict(data)
        return cls(copied) if _valid_history(copied, limits) else None


class VisitorState:
    """One visitor's stored dict (:attr:`data`) and what this request did to it.

    ``changed`` says whether anything a rule or a cap can read changed, so the
    state must be written back. ``is_new``, ``previous_last`` and ``touched`` live
    for one request only and are never stored.
    """

    __slots__ = ("changed", "data", "idle", "is_new", "limits", "previous_last", "touched")

    def __init__(self, data: dict[str, Any], *, limits: HistorySettings = _DEFAULT_LIMITS,
                 idle: timedelta | int = DEFAULT_IDLE, is_new: bool = False) -> None:
        self.data = data
        self.limits = limits
        self.idle = idle if type(idle) is int else int(idle.total_seconds())  # type: ignore[union-attr]
        self.is_new = is_new
        self.changed = is_new
        self.touched = False
        self.previous_last: int | None = None  # the visitor's last request before this one (epoch seconds)

    @classmethod
    def new(cls, now: datetime | int, *, id: str | None = None, limits: HistorySettings | None = None,
            idle: timedelta | int = DEFAULT_IDLE) -> VisitorState:
        """A visitor never seen before (``touch`` then starts their first visit)."""
        data = {"i": id if id is not None and is_visitor_id(id) else new_visitor_id(), "f": _epoch(now), "n": 0,
                "p": 0, "v": FORMAT}  # fmt: skip
        return cls(data, limits=limits or _DEFAULT_LIMITS, idle=idle, is_new=True)

    @classmethod
    def from_json(cls, data: Any, *, limits: HistorySettings | None = None,
                  idle: timedelta | int = DEFAULT_IDLE) -> VisitorState | None:
        """The state in stored ``data`` (bounded on the way in); ``None`` (never an exception) when malformed."""
        limits = limits or _DEFAULT_LIMITS
        if type(data) is not dict or not _valid(data, limits):
            return None
        data["v"] = FORMAT
        return cls(data, limits=limits, idle=idle)

    @classmethod
    def from_signed(cls, data: dict[str, Any], *, limits: HistorySettings | None = None,
                    idle: timedelta | int = DEFAULT_IDLE) -> VisitorState | None:
        """The state in a cookie this code signed: used as it is when it carries :data:`FORMAT`
        (it was checked before it was written), else checked as :meth:`from_json` does."""
        if data.get("v") == FORMAT and is_visitor_id(data.get("i")):
            return cls(data, limits=limits or _DEFAULT_LIMITS, idle=idle)
        return cls.from_json(data, limits=limits, idle=idle)

    def to_json(self) -> dict[str, Any]:
        """The stored form (the dict itself: serialise it at once, do not keep it)."""
        return self.data

    # -- reading -------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.data["i"]  # type: ignore[no-any-return]

    @property
    def visits(self) -> int:
        return self.data.get("n", 0)  # type: ignore[no-any-return]

    @property
    def pageviews(self) -> int:
        return self.data.get("p", 0)  # type: ignore[no-any-return]

    @property
    def returning(self) -> bool:
        """Seen in an earlier visit."""
        return self.data.get("n", 0) > 1 or "q" in self.data

    @property
    def previous_seen(self) -> datetime | None:
        """The visitor's last request before this one (set by :meth:`touch`)."""
        return _time(self.previous_last)

    @property
    def first_seen(self) -> datetime:
        return datetime.fromtimestamp(self.data["f"], UTC)

    @property
    def last_seen(self) -> datetime | None:
        return _time(self.data.get("l"))

    @property
    def visit_start(self) -> datetime | None:
        return _time(self.data.get("s"))

    @property
    def previous_visit(self) -> datetime | None:
        """When the visitor's previous visit ended (their last request of it)."""
        return _time(self.data.get("q"))

    @property
    def tags(self) -> list[str]:
        return self.data.get("t") or []

    @property
    def campaign(self) -> dict[str, str | bool | int] | None:
        return self.data.get("m")

    @property
    def exposures(self) -> list[str]:
        return self.data.get("x") or []

    @property
    def user(self) -> str | None:
        return self.data.get("u")

    @user.setter
    def user(self, value: str | None) -> None:
        if self.data.get("u") != value:
            _put(self.data, "u", value)
            self.changed = True

    @property
    def history(self) -> History:
        history = self.data.get("h")
        if history is None:
            history = self.data["h"] = {}
        return History(history)

    @property
    def caps(self) -> CapLedger:
        rows = self.data.get("c")
        if rows is None:
            rows = self.data["c"] = {}
        return CapLedger(rows)

    # -- this request --------------------------------------------------------------------------

    def touch(self, now: datetime | int, *, count_pageviews: bool = True) -> bool:
        """Count this request: a new visit after the idle time without one, else one more page view
        (counted only with ``count_pageviews``). Returns whether a new visit began."""
        now = _epoch(now)
        data = self.data
        last = data.get("l")
        self.previous_last = last
        self.touched = True
        if last is None or "s" not in data or now - last > self.idle:
            if last is not None:
                data["q"] = last
            data["n"] = data.get("n", 0) + 1
            data["s"] = data["l"] = now
            data["p"] = 1
            data.pop("m", None)  # campaign data belongs to the visit it arrived with
            self.changed = True
            return True
        if count_pageviews:
            data["p"] = data.get("p", 0) + 1
            self.changed = True
        if now - last >= LAST_SEEN_STEP:
            data["l"] = now
            self.changed = True
        return False

    def record_page(self, product: object = None, category: object = None, search: object = None) -> None:
        """Remember the product, category and search of this page view in the history."""
        if product is None and category is None and search is None:
            return
        history = self.data.get("h")
        if history is None:
            history = self.data["h"] = {}
        if _record(history, self.limits, product, category, search):
            self.changed = True

    def set_campaign(self, values: Mapping[str, Any]) -> None:
        """Keep the visit's campaign facts (source, medium, name, referrer_domain, ...).

        Only short text, bool and int values are kept; ``None`` values are dropped.
        """
        kept: dict[str, str | bool | int] = {}
        for key, value in values.items():
            if len(kept) >= _CAMPAIGN_KEYS:
                break
            if isinstance(value, bool | int):
                kept[str(key)[:_TEXT]] = value
            elif isinstance(value, str):
                kept[str(key)[:_TEXT]] = value[:_TEXT]
        _put(self.data, "m", kept or None)
        self.changed = True

    def period(self, now: datetime) -> Period:
        """The cap periods at ``now`` (aware, in the shop's time zone)."""
        return Period.at(self.data.get("s") or _epoch(now), now)

    def caps_at(self, at: datetime | Period) -> CapView:
        """The engine's ``caps`` for this visitor at a moment (in the shop's time zone) or a period."""
        period = at if isinstance(at, Period) else self.period(at)
        return CapView(CapLedger(self.data.get("c") or {}), period)

    def apply(self, decision: Decision, at: datetime | Period | None) -> list[Exposure]:
        """Record a decision: add its tags, count its capped rules (in the periods of ``at``), and
        return the exposures this visitor has not been reported for yet (per experiment, variant
        and ruleset)."""
        data = self.data
        if decision.tags:
            tags = data.get("t") or []
            for tag in decision.tags:
                tag = tag[:_TEXT]
                if tag and tag not in tags:
                    tags.append(tag)
                    del tags[:-_TAGS]
                    self.changed = True
            _put(data, "t", tags)
        if decision.cap_hits:
            if at is None:
                raise ValueError("a decision with capped rules needs the moment it was made")
            period = at if isinstance(at, Period) else self.period(at)
            caps = self.caps
            for rule_id in decision.cap_hits:
                caps.hit(rule_id, period)
            self.changed = True
        if not decision.exposures:  # most pages
            return []
        return [e for e in decision.exposures if self._first_exposure(e, decision.ruleset_version)]

    def merge_outage(self, stored: VisitorState) -> None:
        """Fold the state a server store holds into this one, which the cookie carried through an outage.

        This state went on from the counters in the cookie, so visits are the larger of the
        two, page views the larger within the same visit, and times those of the later;
        history, caps, tags and exposures are merged as from another device. Merging twice
        gives the same state (a response lost on the way does not count a visit twice).
        """
        mine, theirs = self.data, stored.data
        mine["n"] = max(mine.get("n", 0), theirs.get("n", 0))
        if mine.get("s") == theirs.get("s"):  # page views count within a visit: the same visit's larger count
            mine["p"] = max(mine.get("p", 0), theirs.get("p", 0))
        mine["f"] = min(mine["f"], theirs["f"])
        stored_later = (theirs.get("l") or 0) > (mine.get("l") or 0)  # an old cookie, whose answer was lost
        if stored_later:
            for key in ("l", "s", "q", "p"):
                if key in theirs:
                    mine[key] = theirs[key]
        newer, older = (stored, self) if stored_later else (self, stored)
        newer.history.merge_older(older.history, self.limits)  # the more recent pages first
        mine["h"] = newer.data["h"]
        self.caps.merge(stored.caps)
        for key, limit in (("t", _TAGS), ("x", _EXPOSURES)):
            merged = list(dict.fromkeys([*(mine.get(key) or ()), *(theirs.get(key) or ())]))[:limit]
            if merged:
                mine[key] = merged
        for key in ("m", "u"):
            if key not in mine and key in theirs:
                mine[key] = theirs[key]
        self.changed = True

    def hit(self, key: str, at: datetime | Period) -> None:
        """Count one occurrence of ``key`` (a cap counter such as a dismissed chat) at a moment."""
        self.caps.hit(key, at if isinstance(at, Period) else self.period(at))
        self.changed = True

    def _first_exposure(self, exposure: Exposure, version: str) -> bool:
        key = _short_hash(f"{exposure.experiment}:{exposure.variant}:{version}")
        seen = self.data.get("x") or []
        if key in seen:
            return False
        seen.append(key)
        del seen[:-_EXPOSURES]
        self.data["x"] = seen
        self.changed = True
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VisitorState) and _stored(self.data) == _stored(other.data)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"VisitorState({self.data!r})"


# --- helpers -------------------------------------------------------------------------------


def _stored(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without empty parts and the format mark (what two equal states agree on)."""
    return {key: value for key, value in data.items() if (value or value == 0) and key != "v"}


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key``, leaving it out when empty (the cookie stays small)."""
    if value:
        data[key] = value
    else:
        data.pop(key, None)


def _record(history: dict[str, Any], limits: HistorySettings, product: object, category: object,
            search: object) -> bool:
    changed = False
    if product is not None and (product := _text(product)):
        changed = _push(history, "p", product, limits.products)
    if category is not None and (category := _text(category)):
        _push(history, "c", category, limits.categories)
        _count(history, category, limits.category_views)
        changed = True
    if search is not None and (search := _text(search)):
        changed = _push(history, "s", search, limits.searches) or changed
    return changed


def _text(value: object) -> str | None:
    if type(value) is str:  # the usual case first: no isinstance with a union
        return value.strip()[:_TEXT] or None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip()[:_TEXT] or None


def _push(data: dict[str, Any], key: str, value: str, limit: int) -> bool:
    """Put ``value`` first in ``data[key]`` (moving it if present), bounded; whether anything changed."""
    items = data.get(key)
    if items is None:
        if limit:
            data[key] = [value]
        return bool(limit)
    if items and items[0] == value:
        return False
    if value in items:
        items.remove(value)
    items.insert(0, value)
    del items[limit:]
    return True


def _count(data: dict[str, Any], category: str, limit: int) -> None:
    # Re-inserting keeps dict order = recency, so eviction drops the least-viewed, least-recent category.
    views = data.get("v")
    if views is None:
        views = data["v"] = {}
    views[category] = views.pop(category, 0) + 1
    _bound_views(views, limit)
    if not views:
        del data["v"]


def _bound_views(views: dict[str, int], limit: int) -> None:
    while len(views) > limit:
        # min() returns the first of equal counts: the least recently viewed.
        del views[min(views, key=views.__getitem__)]


@lru_cache(maxsize=256)  # one key per experiment, variant and ruleset: a handful, asked on every page
def _short_hash(text: str) -> str:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_visitor_id(value: Any) -> bool:
    """Whether ``value`` looks like a visitor id (8-32 printable ASCII characters)."""
    if type(value) is not str:
        return False
    return 8 <= len(value) <= 32 and value.isascii() and value.isprintable()


def _valid(data: dict[str, Any], limits: HistorySettings) -> bool:
    """Stored state as :meth:`VisitorState.to_json` writes it, bounded in place; False when malformed.

    The cookie is signed, so its data was written by smalldata; the checks guard against
    older versions and other stores, and cost about a microsecond.
    """
    visitor_id = data.get("i")
    if type(visitor_id) is not str or not 8 <= len(visitor_id) <= 32 or not visitor_id.isascii():
        return False
    if not visitor_id.isprintable() or "f" not in data:
        return False
    for key in _SCALARS:
        value = data.get(key, 0)
        if type(value) is not int or not 0 <= value < _MAX_COUNT:
            return False
    for key in _OPTIONAL:  # noqa: SIM110 - a loop, not all(): no generator per cookie
        if key in data and not _VALIDATORS[key](data, limits):
            return False
    return True


def _tags(data: dict[str, Any], limits: HistorySettings) -> bool:
    return _texts(data, "t", _TAGS)


def _exposures(data: dict[str, Any], limits: HistorySettings) -> bool:
    return _texts(data, "x", _EXPOSURES)


def _history(data: dict[str, Any], limits: HistorySettings) -> bool:
    history = data["h"]
    return type(history) is dict and _valid_history(history, limits)


def _caps(data: dict[str, Any], limits: HistorySettings) -> bool:
    return CapLedger.from_json(data["c"]) is not None


def _campaign_ok(data: dict[str, Any], limits: HistorySettings) -> bool:
    return _valid_campaign(data, data["m"])


def _user(data: dict[str, Any], limits: HistorySettings) -> bool:
    return data["u"] is None or type(data["u"]) is str


_SCALARS = ("f", "n", "p", "s", "l", "q", "v")  # whole seconds and counts
_VALIDATORS = {"t": _tags, "x": _exposures, "h": _history, "c": _caps, "m": _campaign_ok, "u": _user}
_OPTIONAL = tuple(_VALIDATORS)


def _texts(data: dict[str, Any], key: str, limit: int) -> bool:
    """``data[key]`` is a list of texts, kept to ``limit`` items."""
    items = data[key]
    if type(items) is not list:
        return False
    try:
        "".join(items)  # refuses anything that is not text, at C speed
    except TypeError:
        return False
    if len(items) > limit:
        data[key] = items[:limit]
    return True


def _valid_history(history: dict[str, Any], limits: HistorySettings) -> bool:
    if "p" in history and not _texts(history, "p", limits.products):
        return False
    if "c" in history and not _texts(history, "c", limits.categories):
        return False
    if "s" in history and not _texts(history, "s", limits.searches):
        return False
    views = history.get("v")
    if views is None:
        return True
    if type(views) is not dict or not _counts(views.values()):
        return False
    if len(views) > limits.category_views:
        history["v"] = views = dict(views)
        _bound_views(views, limits.category_views)
    return True


def _counts(values: Collection[Any]) -> bool:
    return not values or (set(map(type, values)) == _INT and min(values) >= 0)


def _valid_campaign(data: dict[str, Any], campaign: Any) -> bool:
    if type(campaign) is not dict:
        return False
    items = list(campaign.items())[:_CAMPAIGN_KEYS]
    kept = {
        str(key)[:_TEXT]: item[:_TEXT] if isinstance(item, str) else item
        for key, item in items
        if isinstance(item, _CAMPAIGN_KINDS)
    }
    _put(data, "m", kept or None)  # an empty campaign is left out, as set_campaign does
    return True
