"""A visitor's recent browsing, kept in their state (``data["h"]``): products, categories and
searches, most recent first, and view counts per category, every list bounded.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from smalldata.state.config import HistorySettings

__all__ = ["MAX_TEXT", "History", "put", "record_page", "texts_ok", "valid_history"]

MAX_TEXT = 64  # longest product id, category, search, tag or campaign value kept
_INT = frozenset({int})


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
        return record_page(self.data, limits, product, category, search)

    def merge_older(self, older: History, limits: HistorySettings) -> None:
        """Append another device's history after this one (which is taken as more recent)."""
        data = self.data
        for key, limit in (("p", limits.products), ("c", limits.categories), ("s", limits.searches)):
            merged = list(dict.fromkeys([*(data.get(key) or ()), *(older.data.get(key) or ())]))[:limit]
            put(data, key, merged)
        theirs = older.category_views
        views = dict(theirs)
        for category, count in self.category_views.items():
            views.pop(category, None)
            views[category] = max(count, theirs.get(category, 0))
        _bound_views(views, limits.category_views)
        put(data, "v", views)

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.data.items() if value}

    @classmethod
    def from_json(cls, data: Any, limits: HistorySettings) -> History | None:
        """A copy of stored history, bounded; ``None`` when malformed."""
        if type(data) is not dict:
            return None
        copied = dict(data)
        return cls(copied) if valid_history(copied, limits) else None


def put(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key``, leaving it out when empty (the cookie stays small)."""
    if value:
        data[key] = value
    else:
        data.pop(key, None)


def record_page(history: dict[str, Any], limits: HistorySettings, product: object, category: object,
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
        return value.strip()[:MAX_TEXT] or None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip()[:MAX_TEXT] or None


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


def texts_ok(data: dict[str, Any], key: str, limit: int) -> bool:
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


def valid_history(history: dict[str, Any], limits: HistorySettings) -> bool:
    if "p" in history and not texts_ok(history, "p", limits.products):
        return False
    if "c" in history and not texts_ok(history, "c", limits.categories):
        return False
    if "s" in history and not texts_ok(history, "s", limits.searches):
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
