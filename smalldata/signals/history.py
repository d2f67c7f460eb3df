"""The ``history`` signals: what this visitor browsed recently, from their stored state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smalldata.signals.request import Request, RequestSignals

__all__ = ["NAMES", "history_signals"]

NAMES = (
    "history.viewed_products",
    "history.viewed_categories",
    "history.category_views",
    "history.searches",
    "history.last_category",
)
_UNKNOWN = dict.fromkeys(NAMES)


def history_signals(request: Request, signals: RequestSignals) -> Mapping[str, Any]:
    """The ``history.*`` values (lists most recent first, copies a rule cannot change); all unknown
    without state. Read after the state recorded this page: it counts as viewed."""
    state = request.state
    if state is None:
        return _UNKNOWN
    history = state.recent
    categories = history.categories
    return {
        "history.viewed_products": list(history.products),
        "history.viewed_categories": list(categories),
        "history.category_views": dict(history.category_views),
        "history.searches": list(history.searches),
        "history.last_category": categories[0] if categories else None,
    }
