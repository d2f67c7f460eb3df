"""The history.* signals: recent products, categories, searches and category counts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from smalldata.signals import history
from smalldata.signals.history import NAMES
from smalldata.signals.request import Request
from smalldata.state import VisitorState

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))


def history_signals(state: VisitorState | None) -> Mapping[str, Any]:
    return history.history_signals(Request({"type": "http", "path": "/"}, NOW, state=state), None)  # type: ignore[arg-type]


def test_history_of_a_browsing_visitor() -> None:
    state = VisitorState.new(NOW)
    state.record_page(product="sku-1", category="shoes")
    state.record_page(product="sku-2", category="bags", search="red bag")
    state.record_page(category="shoes")

    assert history_signals(state) == {
        "history.viewed_products": ["sku-2", "sku-1"],
        "history.viewed_categories": ["shoes", "bags"],
        "history.category_views": {"shoes": 2, "bags": 1},
        "history.searches": ["red bag"],
        "history.last_category": "shoes",
    }


def test_a_new_visitor_has_an_empty_history() -> None:
    signals = history_signals(VisitorState.new(NOW))

    assert signals["history.viewed_products"] == []
    assert signals["history.category_views"] == {}
    assert signals["history.last_category"] is None


def test_signals_are_copies_a_rule_cannot_change() -> None:
    state = VisitorState.new(NOW)
    state.record_page(product="sku-1")

    history_signals(state)["history.viewed_products"].append("sku-x")

    assert state.history.products == ["sku-1"]


def test_no_state_means_every_value_is_unknown() -> None:
    assert history_signals(None) == dict.fromkeys(NAMES)
