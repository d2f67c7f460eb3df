"""What smalldata remembers about one visitor between requests: a small dict of epoch seconds.

A request's life with state::

    state = store.load(...)               # or VisitorState.new(now) for someone never seen
    state.touch(now)                      # a new visit after 30 idle minutes, else one more page
    state.record_page(product="sku-1", category="shoes")
    decision = engine.decide(signals, caps=state.caps_at(period), visitor_id=state.id)
    new_exposures = state.apply(decision, period)
    if state.changed:                     # only then is a cookie (or a Redis key) written
        store.save(state, ...)

The stored form (:attr:`VisitorState.data`) is the dict itself, with one-letter keys
(:class:`~smalldata.state.stored.StoredState` types them); only ``smalldata.state`` reads
them, everyone else the properties here::

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
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from smalldata.decision import Decision, Exposure
from smalldata.state.caps import CapLedger, CapView, Period
from smalldata.state.checks import CAMPAIGN_KEYS, EXPOSURES, TAGS, valid_state
from smalldata.state.config import HistorySettings
from smalldata.state.history import MAX_TEXT, History, record_page
from smalldata.state.stored import StoredState

__all__ = ["FORMAT", "LAST_SEEN_STEP", "History", "VisitorState", "is_visitor_id", "new_visitor_id"]

DEFAULT_IDLE = timedelta(minutes=30)
#: ``last_seen`` is written back when it is at least this many seconds old.
LAST_SEEN_STEP = 60
_DEFAULT_LIMITS = HistorySettings()  # frozen: one shared default
#: The stored form this code writes (``"v"``): a signed cookie with it needs no checking.
FORMAT = 1


def new_visitor_id() -> str:
    """A random, URL-safe, 12-character visitor id (72 bits)."""
    return secrets.token_urlsafe(9)


def _epoch(moment: datetime | int) -> int:
    return moment if isinstance(moment, int) else int(moment.timestamp())


def _time(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class VisitorState:
    """One visitor's stored dict (:attr:`data`) and what this request did to it.

    ``changed`` says whether anything a rule or a cap can read changed, so the
    state must be written back. ``is_new``, ``previous_last``, ``touched`` and
    ``transient`` live for one request only and are never stored. ``transient``: a
    server store keeps nothing of this request's state, because it brought no visitor
    cookie of ours (a first request, a client that drops cookies: the cookie carries
    the state until the visitor comes back with it) or came from a known bot. ``outage``:
    loaded while the server store was away, so its record was not read: saving merges into
    it, never replaces it.
    """

    __slots__ = ("changed", "data", "idle", "is_new", "limits", "outage", "previous_last", "touched", "transient")

    def __init__(self, data: StoredState, *, limits: HistorySettings = _DEFAULT_LIMITS,
                 idle: timedelta | int = DEFAULT_IDLE, is_new: bool = False) -> None:
        self.data = data
        self.limits = limits
        self.idle = idle if isinstance(idle, int) else int(idle.total_seconds())
        self.is_new = is_new
        self.changed = is_new
        self.touched = False
        self.transient = False
        self.outage = False
        self.previous_last: int | None = None  # the visitor's last request before this one (epoch seconds)

    @classmethod
    def new(cls, now: datetime | int, *, id: str | None = None, limits: HistorySettings | None = None,
            idle: timedelta | int = DEFAULT_IDLE) -> VisitorState:
        """A visitor never seen before (``touch`` then starts their first visit)."""
        data: StoredState = {"i": id if id is not None and is_visitor_id(id) else new_visitor_id(),
                             "f": _epoch(now), "n": 0, "p": 0, "v": FORMAT}  # fmt: skip
        return cls(data, limits=limits or _DEFAULT_LIMITS, idle=idle, is_new=True)

    @classmethod
    def from_json(cls, data: Any, *, limits: HistorySettings | None = None,
                  idle: timedelta | int = DEFAULT_IDLE) -> VisitorState | None:
        """The state in stored ``data`` (bounded on the way in); ``None`` (never an exception) when malformed."""
        limits = limits or _DEFAULT_LIMITS
        if type(data) is not dict or not valid_state(data, limits):
            return None
        data["v"] = FORMAT
        return cls(cast(StoredState, data), limits=limits, idle=idle)

    @classmethod
    def from_signed(cls, data: dict[str, Any], *, limits: HistorySettings | None = None,
                    idle: timedelta | int = DEFAULT_IDLE) -> VisitorState | None:
        """The state in a cookie this code signed: used as it is when it carries :data:`FORMAT`
        (it was checked before it was written), else checked as :meth:`from_json` does."""
        if data.get("v") == FORMAT and is_visitor_id(data.get("i")):
            return cls(cast(StoredState, data), limits=limits or _DEFAULT_LIMITS, idle=idle)
        return cls.from_json(data, limits=limits, idle=idle)

    def to_json(self) -> dict[str, Any]:
        """The stored form (the dict itself: serialise it at once, do not keep it)."""
        return cast(dict[str, Any], self.data)

    # -- reading -------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.data["i"]

    @property
    def visits(self) -> int:
        return self.data.get("n", 0)

    @property
    def pageviews(self) -> int:
        return self.data.get("p", 0)

    @property
    def returning(self) -> bool:
        """Seen in an earlier visit."""
        return self.data.get("n", 0) > 1 or "q" in self.data

    @property
    def previous_seen(self) -> datetime | None:
        """The visitor's last request before this one (set by :meth:`touch`)."""
        return _time(self.previous_last)

    @property
    def last_request(self) -> datetime | None:
        """The visitor's request before this one once :meth:`touch` counted this one, else the stored last seen."""
        return _time(self.previous_last if self.touched else self.data.get("l"))

    def seconds_on_site(self, now: int) -> int:
        """Seconds since this visit started, at ``now`` (epoch seconds); 0 before any visit."""
        start = self.data.get("s")
        return max(0, now - start) if start else 0

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
            if value:
                self.data["u"] = value
            else:
                self.data.pop("u", None)
            self.changed = True

    @property
    def history(self) -> History:
        history = self.data.get("h")
        if history is None:
            history = self.data["h"] = {}
        return History(history)

    @property
    def recent(self) -> History:
        """The browsing history, to read (an empty one when there is none: nothing is added to the state)."""
        return History(self.data.get("h") or {})

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
        if record_page(history, self.limits, product, category, search):
            self.changed = True

    def set_campaign(self, values: Mapping[str, Any]) -> None:
        """Keep the visit's campaign facts (source, medium, name, referrer_domain, ...).

        Only short text, bool and int values are kept; ``None`` values are dropped.
        """
        kept: dict[str, str | bool | int] = {}
        for key, value in values.items():
            if len(kept) >= CAMPAIGN_KEYS:
                break
            if isinstance(value, bool | int):
                kept[str(key)[:MAX_TEXT]] = value
            elif isinstance(value, str):
                kept[str(key)[:MAX_TEXT]] = value[:MAX_TEXT]
        if kept:
            self.data["m"] = kept
        else:
            self.data.pop("m", None)
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
                tag = tag[:MAX_TEXT]
                if tag and tag not in tags:
                    tags.append(tag)
                    del tags[:-TAGS]
                    self.changed = True
            if tags:
                data["t"] = tags
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
        # read key by key in loops below: the stored form as a plain dict
        mine, theirs = cast(dict[str, Any], self.data), cast(dict[str, Any], stored.data)
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
        for key, limit in (("t", TAGS), ("x", EXPOSURES)):
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
        del seen[:-EXPOSURES]
        self.data["x"] = seen
        self.changed = True
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VisitorState) and _stored(self.data) == _stored(other.data)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"VisitorState({self.data!r})"


# --- helpers -------------------------------------------------------------------------------


def _stored(data: StoredState) -> dict[str, Any]:
    """``data`` without empty parts and the format mark (what two equal states agree on)."""
    return {key: value for key, value in data.items() if (value or value == 0) and key != "v"}


@lru_cache(maxsize=256)  # one key per experiment, variant and ruleset: a handful, asked on every page
def _short_hash(text: str) -> str:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_visitor_id(value: Any) -> bool:
    """Whether ``value`` looks like a visitor id (8-32 printable ASCII characters)."""
    if type(value) is not str:
        return False
    return 8 <= len(value) <= 32 and value.isascii() and value.isprintable()
