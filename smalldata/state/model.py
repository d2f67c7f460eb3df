"""What smalldata remembers about one visitor between requests.

A request's life with state::

    state = await store.load(cookies, now=now, storage=True)   # new visitor if unknown
    state.touch(now)                 # a new visit after 30 idle minutes, else one more page view
    state.record_page(product="sku-1", category="shoes")
    decision = engine.decide(signals, caps=state.caps_at(now), visitor_id=state.id)
    new_exposures = state.apply(decision, now)
    set_cookies = await store.save(state, storage=True, secure=True)

Everything kept is bounded, so the state fits in one small cookie.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from smalldata.decision import Decision, Exposure
from smalldata.state.caps import CapLedger, CapView, Period
from smalldata.state.config import HistorySettings

__all__ = ["History", "VisitorState", "is_visitor_id", "new_visitor_id"]

_TEXT = 64  # longest product id, category, search, tag or campaign value kept
_TAGS = 20
_EXPOSURES = 12
_CAMPAIGN_KEYS = 8
_CAMPAIGN_KINDS = (str, bool, int)
DEFAULT_IDLE = timedelta(minutes=30)
_DEFAULT_LIMITS = HistorySettings()  # frozen: one shared default
_MAX_COUNT = 2**40
_INT = frozenset({int})
_NONE: list[str] = []  # read-only defaults for missing keys (every reader copies)
_NO_ROWS: dict[str, Any] = {}
_fromtimestamp = datetime.fromtimestamp
T = TypeVar("T")


def new_visitor_id() -> str:
    """A random, URL-safe, 12-character visitor id (72 bits)."""
    return secrets.token_urlsafe(9)


@dataclass
class History:
    """Recent browsing, most recent first, plus view counts per category."""

    products: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    category_views: dict[str, int] = field(default_factory=dict)
    searches: list[str] = field(default_factory=list)

    def record(
        self,
        limits: HistorySettings,
        product: object = None,
        category: object = None,
        search: object = None,
    ) -> None:
        """Remember one page view's product, category and search (each optional; text or
        numbers, anything else is ignored)."""
        if product := _text(product):
            _push(self.products, product, limits.products)
        if category := _text(category):
            _push(self.categories, category, limits.categories)
            self._count(category, limits.category_views)
        if search := _text(search):
            _push(self.searches, search, limits.searches)

    def merge_older(self, older: History, limits: HistorySettings) -> None:
        """Append another device's history after this one (which is taken as more recent)."""
        self.products = _union(self.products, older.products, limits.products)
        self.categories = _union(self.categories, older.categories, limits.categories)
        self.searches = _union(self.searches, older.searches, limits.searches)
        views = dict(older.category_views)
        for category, count in self.category_views.items():
            views.pop(category, None)
            views[category] = max(count, older.category_views.get(category, 0))
        self.category_views = views
        _bound_views(self.category_views, limits.category_views)

    def _count(self, category: str, limit: int) -> None:
        # Re-inserting keeps dict order = recency, so eviction drops the least-viewed,
        # least-recent category.
        count = self.category_views.pop(category, 0) + 1
        self.category_views[category] = count
        _bound_views(self.category_views, limit)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.products:
            data["p"] = self.products
        if self.categories:
            data["c"] = self.categories
        if self.category_views:
            data["v"] = self.category_views
        if self.searches:
            data["s"] = self.searches
        return data

    @classmethod
    def from_json(cls, data: Any, limits: HistorySettings) -> History | None:
        """Rebuild from :meth:`to_json` output; ``None`` when malformed."""
        if not isinstance(data, dict):
            return None
        get = data.get
        views = get("v", _NO_ROWS)
        if type(views) is not dict or (views and not _counts(views.values())):
            return None
        products = _texts(get("p", _NONE), limits.products)
        categories = _texts(get("c", _NONE), limits.categories)
        searches = _texts(get("s", _NONE), limits.searches)
        if products is None or categories is None or searches is None:
            return None
        history = cls(products, categories, dict(views), searches)
        if len(views) > limits.category_views:
            _bound_views(history.category_views, limits.category_views)
        return history


@dataclass
class VisitorState:
    """One visitor: visits, the current visit, tags, cap counters, history and exposures seen.

    Times are aware datetimes (UTC as stored; compare them freely with the shop's
    ``now``). ``previous_seen``, ``is_new`` and ``limits`` live only for one
    request and are never stored.
    """

    id: str
    first_seen: datetime
    visits: int = 0
    last_seen: datetime | None = None
    visit_start: datetime | None = None
    pageviews: int = 0
    previous_visit: datetime | None = None
    tags: list[str] = field(default_factory=list)
    caps: CapLedger = field(default_factory=CapLedger)
    history: History = field(default_factory=History)
    campaign: dict[str, str | bool | int] | None = None
    exposures: list[str] = field(default_factory=list)
    user: str | None = None
    # --- per request, not stored ---
    previous_seen: datetime | None = field(default=None, compare=False)
    touched: bool = field(default=False, compare=False)
    is_new: bool = field(default=False, compare=False)
    limits: HistorySettings = field(default_factory=HistorySettings, compare=False, repr=False)
    idle: timedelta = field(default=DEFAULT_IDLE, compare=False, repr=False)
    _period_memo: tuple[datetime, datetime, Period] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    @classmethod
    def new(
        cls,
        now: datetime,
        *,
        id: str | None = None,
        limits: HistorySettings | None = None,
        idle: timedelta = DEFAULT_IDLE,
    ) -> VisitorState:
        """A visitor never seen before (``touch`` then starts their first visit)."""
        return cls(
            id=id or new_visitor_id(),
            first_seen=_second(now),
            is_new=True,
            limits=limits or _DEFAULT_LIMITS,
            idle=idle,
        )

    @property
    def returning(self) -> bool:
        """Seen in an earlier visit."""
        return self.visits > 1 or self.previous_visit is not None

    def touch(self, now: datetime, idle: timedelta | None = None) -> bool:
        """Count this request: a new visit after ``idle`` (default 30 min) without one, else one
        more page view. Returns whether a new visit began."""
        idle = self.idle if idle is None else idle
        self.previous_seen = self.last_seen
        self.touched = True
        last = self.last_seen
        new_visit = last is None or self.visit_start is None or now - last > idle
        second = _second(now)
        if new_visit:
            if self.last_seen is not None:
                self.previous_visit = self.last_seen
            self.visits += 1
            self.visit_start = second
            self.pageviews = 1
            self.campaign = None  # campaign data belongs to the visit it arrived with
        else:
            self.pageviews += 1
        self.last_seen = second
        return new_visit

    def record_page(
        self, product: object = None, category: object = None, search: object = None
    ) -> None:
        """Remember the product, category and search of this page view in the history."""
        self.history.record(self.limits, product, category, search)

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
        self.campaign = kept

    def caps_at(self, now: datetime) -> CapView:
        """The engine's ``caps`` object for this visitor at ``now`` (in the shop's timezone)."""
        return CapView(self.caps, self._period(now))

    def apply(self, decision: Decision, now: datetime) -> list[Exposure]:
        """Record a decision: add its tags, count its capped rules, and return the exposures
        this visitor has not been reported for yet (per experiment, variant and ruleset)."""
        for tag in decision.tags:
            if tag and tag[:_TEXT] not in self.tags:
                _push_last(self.tags, tag[:_TEXT], _TAGS)
        if decision.cap_hits:
            period = self._period(now)
            for rule_id in decision.cap_hits:
                self.caps.hit(rule_id, period)
        if not decision.exposures:  # most pages
            return []
        return [e for e in decision.exposures if self._first_exposure(e, decision.ruleset_version)]

    def _first_exposure(self, exposure: Exposure, version: str) -> bool:
        key = _short_hash(f"{exposure.experiment}:{exposure.variant}:{version}")
        if key in self.exposures:
            return False
        _push_last(self.exposures, key, _EXPOSURES)
        return True

    def _period(self, now: datetime) -> Period:
        start = self.visit_start or now
        memo = self._period_memo  # caps_at and apply ask for the same moment in one request
        if memo is not None and memo[0] == start and memo[1] is now:
            return memo[2]
        period = Period.at(start, now)
        self._period_memo = (start, now, period)
        return period

    def to_json(self) -> dict[str, Any]:
        """A compact, JSON-ready form with one-letter keys (see :meth:`from_json`).

        Unknown times, empty lists and empty mappings are left out."""
        # Written out key by key (same keys and order as a filtered dict): this runs on every page.
        data: dict[str, Any] = {"i": self.id}
        if self.first_seen is not None:
            data["f"] = int(self.first_seen.timestamp())
        data["n"] = self.visits
        if self.last_seen is not None:
            data["l"] = int(self.last_seen.timestamp())
        if self.visit_start is not None:
            data["s"] = int(self.visit_start.timestamp())
        data["p"] = self.pageviews
        if self.previous_visit is not None:
            data["q"] = int(self.previous_visit.timestamp())
        if self.tags:
            data["t"] = self.tags
        if self.caps.rows:
            data["c"] = self.caps.to_json()
        history = self.history.to_json()
        if history:
            data["h"] = history
        if self.campaign:
            data["m"] = self.campaign
        if self.exposures:
            data["x"] = self.exposures
        if self.user is not None:
            data["u"] = self.user
        return data

    @classmethod
    def from_json(
        cls, data: Any, *, limits: HistorySettings | None = None, idle: timedelta = DEFAULT_IDLE
    ) -> VisitorState | None:
        """Rebuild from :meth:`to_json` output; ``None`` (never an exception) when malformed."""
        limits = limits or _DEFAULT_LIMITS
        if not isinstance(data, dict) or not is_visitor_id(data.get("i")):
            return None
        get = data.get
        user = get("u")
        caps = get("c")
        try:
            state = cls(
                id=data["i"],
                first_seen=_time(get("f")),
                visits=_count(get("n", 0)),
                last_seen=_dt(get("l")),
                visit_start=_dt(get("s")),
                pageviews=_count(get("p", 0)),
                previous_visit=_dt(get("q")),
                tags=_need(_texts(get("t", _NONE), _TAGS)),
                # most visitors have never met a capped rule
                caps=CapLedger() if caps is None else _need(CapLedger.from_json(caps)),
                history=_need(History.from_json(get("h", _NO_ROWS), limits)),
                campaign=_campaign(get("m")),
                exposures=_need(_texts(get("x", _NONE), _EXPOSURES)),
                user=user if isinstance(user, str) else None,
                limits=limits,
                idle=idle,
            )
        except (ValueError, TypeError, OverflowError, OSError):
            return None
        return state


# --- helpers -------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    if type(value) is str:  # the usual cases first: no isinstance with a union
        return value.strip()[:_TEXT] or None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip()[:_TEXT] or None


def _push(items: list[str], value: str, limit: int) -> None:
    """Put ``value`` first (moving it if present) and drop what falls past ``limit``."""
    if value in items:
        items.remove(value)
    items.insert(0, value)
    del items[limit:]


def _push_last(items: list[str], value: str, limit: int) -> None:
    items.append(value)
    del items[: max(0, len(items) - limit)]


def _union(newer: list[str], older: list[str], limit: int) -> list[str]:
    return list(dict.fromkeys([*newer, *older]))[:limit]


def _bound_views(views: dict[str, int], limit: int) -> None:
    while len(views) > limit:
        # min() returns the first of equal counts: the least recently viewed.
        del views[min(views, key=views.__getitem__)]


@lru_cache(maxsize=256)  # one key per experiment, variant and ruleset: a handful, asked on every page
def _short_hash(text: str) -> str:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _second(moment: datetime) -> datetime:
    """Stored times have whole seconds; round now so a fresh state equals a reloaded one."""
    return datetime.fromtimestamp(int(moment.timestamp()), UTC)


def _dt(value: Any) -> datetime | None:
    if type(value) is int and 0 <= value < _MAX_COUNT:
        return _fromtimestamp(value, UTC)
    if value is None:
        return None
    raise ValueError("not a time")


def _time(value: Any) -> datetime:
    if type(value) is int and 0 <= value < _MAX_COUNT:
        return _fromtimestamp(value, UTC)
    raise ValueError("not a time")


def _count(value: Any) -> int:
    if not _is_count(value):
        raise ValueError("not a count")
    return int(value)


def _counts(values: Collection[Any]) -> bool:
    return not values or (set(map(type, values)) == _INT and min(values) >= 0)


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value < _MAX_COUNT


def is_visitor_id(value: Any) -> bool:
    """Whether ``value`` looks like a visitor id (8-32 printable ASCII characters)."""
    if not isinstance(value, str):
        return False
    return 8 <= len(value) <= 32 and value.isascii() and value.isprintable()


def _texts(value: Any, limit: int) -> list[str] | None:
    """A new list of at most ``limit`` texts of at most 64 characters; None unless a list of str."""
    # C-speed checks (join refuses a non-text, longest item): this runs five times on every request.
    if type(value) is not list:
        return None
    if not value:
        return []
    try:
        total = len("".join(value))
    except TypeError:
        return None
    items = value[:limit]
    if total > _TEXT and len(max(items, key=len, default="")) > _TEXT:
        items = [item[:_TEXT] for item in items]
    return items


def _campaign(value: Any) -> dict[str, str | bool | int] | None:
    if not isinstance(value, dict) or not value:
        return None
    # a tuple, not ``str | bool | int``: isinstance checks a tuple ~2x faster
    items = value.items() if len(value) <= _CAMPAIGN_KEYS else list(value.items())[:_CAMPAIGN_KEYS]
    kept = {
        str(key)[:_TEXT]: item[:_TEXT] if isinstance(item, str) else item
        for key, item in items
        if isinstance(item, _CAMPAIGN_KINDS)
    }
    return kept or None  # to_json leaves an empty campaign out: reloading must agree


def _need(value: T | None) -> T:
    if value is None:
        raise ValueError("malformed visitor state")
    return value
