"""The ``history`` signals: what this visitor browsed recently, from their stored state."""

from __future__ import annotations

from typing import Any

from smalldata.state.model import VisitorState

__all__ = ["NAMES", "history_signals", "history_values"]

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
    return {f"history.{name}": value for name, value in history_values(state).items()}


def history_values(state: VisitorState | None) -> dict[str, Any]:
    """:func:`history_signals` with short names (``{"searches": ...}``), as the provider answers."""
    if state is None:
        return dict.fromkeys(_SHORT)
    history = state.history
    return {
        "viewed_products": list(history.products),
        "viewed_categories": list(history.categories),
        "category_views": dict(history.category_views),
        "searches": list(history.searches),
        "last_category": history.categories[0] if history.categories else None,
    }


_SHORT = tuple(name.partition(".")[2] for name in NAMES)
