"""The ``history`` signals: what this visitor browsed recently, from their stored state."""

from __future__ import annotations

from typing import Any

from smalldata.state.model import VisitorState

__all__ = ["NAMES", "history_signals"]

NAMES = (
    "history.viewed_products",
    "history.viewed_categories",
    "history.category_views",
    "history.searches",
    "history.last_category",
)


def history_signals(state: VisitorState | None) -> dict[str, Any]:
    """The ``history.*`` values (lists most recent first); all unknown without state.

    Call it after ``state.record_page(...)`` for the current page if the current
    page should count as viewed.
    """
    if state is None:
        return dict.fromkeys(NAMES)
    history = state.history
    return {
        "history.viewed_products": list(history.products),
        "history.viewed_categories": list(history.categories),
        "history.category_views": dict(history.category_views),
        "history.searches": list(history.searches),
        "history.last_category": history.categories[0] if history.categories else None,
    }
