"""The ``history`` signals: what this visitor browsed recently, from their stored state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from smalldata.signals.spec import Group, Namespace, signal

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


#: The ``history`` namespace (see :mod:`smalldata.signals.spec`): read from the visitor's stored state.
NAMESPACE = Namespace(
    "history",
    signals=(
        signal("history.viewed_products", "list", "recently viewed products, most recent first"),
        signal("history.viewed_categories", "list", "recently viewed categories, most recent first"),
        signal("history.category_views", "map", "views per category", map_of="number", missing=0),
        signal("history.searches", "list", "recent searches"),
        signal("history.last_category", "text", "the category viewed last"),
    ),
    groups=(Group(NAMES, lambda parts: history_signals),),
    stored=True,
)
