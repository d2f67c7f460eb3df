"""Visitor state: visits, page views, history, tags and exposures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from smalldata.decision import Decision, Exposure
from smalldata.state import HistorySettings, VisitorState

from .helpers import full_state


def test_first_request_starts_the_first_visit(now: datetime) -> None:
    state = VisitorState.new(now)

    started = state.touch(now)

    assert started
    assert (state.visits, state.pageviews, state.returning) == (1, 1, False)
    assert state.visit_start == now
    assert state.previous_seen is None


def test_visitor_id_is_short_random_and_url_safe(now: datetime) -> None:
    ids = {VisitorState.new(now).id for _ in range(100)}

    assert len(ids) == 100
    assert all(len(i) == 12 and i.replace("-", "").replace("_", "").isalnum() for i in ids)


@pytest.mark.parametrize(
    ("idle", "new_visit"),
    [
        pytest.param(timedelta(minutes=5), False, id="5-minutes"),
        pytest.param(timedelta(minutes=29, seconds=59), False, id="just-under-30-minutes"),
        pytest.param(timedelta(minutes=30), False, id="exactly-30-minutes"),
        pytest.param(timedelta(minutes=30, seconds=1), True, id="just-over-30-minutes"),
        pytest.param(timedelta(days=3), True, id="3-days"),
    ],
)
def test_a_visit_ends_after_30_idle_minutes(now: datetime, idle: timedelta, new_visit: bool) -> None:
    state = VisitorState.new(now)
    state.touch(now)
    state.touch(now + timedelta(minutes=1))

    assert state.touch(now + timedelta(minutes=1) + idle) is new_visit
    assert state.visits == (2 if new_visit else 1)
    assert state.pageviews == (1 if new_visit else 3)
    assert state.returning is new_visit


def test_idle_time_counts_from_the_last_request_not_the_visit_start(now: datetime) -> None:
    state = VisitorState.new(now)
    for minute in range(0, 121, 20):  # a page every 20 minutes for two hours
        state.touch(now + timedelta(minutes=minute))

    assert (state.visits, state.pageviews) == (1, 7)


def test_visit_timeout_is_configurable(now: datetime) -> None:
    state = VisitorState.new(now, idle=timedelta(minutes=10))
    state.touch(now)

    assert state.touch(now + timedelta(minutes=11))


def test_new_visit_remembers_when_the_previous_visit_ended(now: datetime) -> None:
    state = VisitorState.new(now)
    state.touch(now)
    state.touch(now + timedelta(minutes=10))

    state.touch(now + timedelta(days=2))
    state.touch(now + timedelta(days=2, minutes=1))

    assert state.previous_visit == now + timedelta(minutes=10)
    assert state.previous_seen == now + timedelta(days=2)


def test_campaign_belongs_to_its_visit(now: datetime) -> None:
    state = VisitorState.new(now)
    state.touch(now)
    state.set_campaign({"source": "newsletter", "email": True, "name": None})
    state.touch(now + timedelta(minutes=5))

    assert state.campaign == {"source": "newsletter", "email": True}

    state.touch(now + timedelta(hours=2))

    assert state.campaign is None


def test_history_is_most_recent_first_without_duplicates(now: datetime) -> None:
    state = VisitorState.new(now)
    for product, category in [("p1", "shoes"), ("p2", "bags"), ("p1", "shoes")]:
        state.record_page(product=product, category=category)
    state.record_page(search="  red shoes ")

    history = state.history
    assert history.products == ["p1", "p2"]
    assert history.categories == ["shoes", "bags"]
    assert history.category_views == {"bags": 1, "shoes": 2}
    assert history.searches == ["red shoes"]


def test_history_is_bounded(now: datetime) -> None:
    limits = HistorySettings(products=3, categories=2, category_views=4, searches=2)
    state = VisitorState.new(now, limits=limits)
    for i in range(10):
        state.record_page(product=f"p{i}", category=f"c{i}", search=f"s{i}")

    history = state.history
    assert history.products == ["p9", "p8", "p7"]
    assert history.categories == ["c9", "c8"]
    assert history.searches == ["s9", "s8"]
    assert len(history.category_views) == 4


def test_full_category_counts_drop_the_least_viewed_category(now: datetime) -> None:
    state = VisitorState.new(now, limits=HistorySettings(category_views=2))
    for category in ["shoes", "shoes", "shoes", "bags", "hats"]:
        state.record_page(category=category)

    assert state.history.category_views == {"shoes": 3, "hats": 1}


def test_overlong_values_are_cut(now: datetime) -> None:
    state = VisitorState.new(now)
    state.record_page(product="p" * 500, search="s" * 500)

    assert len(state.history.products[0]) == 64
    assert len(state.history.searches[0]) == 64


def test_apply_adds_tags_once(now: datetime) -> None:
    state = VisitorState.new(now)
    state.touch(now)

    state.apply(Decision(tags=["vip", "shoes-lover"]), now)
    state.apply(Decision(tags=["vip"]), now)

    assert state.tags == ["vip", "shoes-lover"]


def test_an_exposure_is_new_only_once(now: datetime) -> None:
    state = VisitorState.new(now)
    state.touch(now)
    exposure = Exposure("easter-banner", "b", "easter-banner-test")
    decision = Decision(exposures=[exposure], ruleset_version="v1")

    assert state.apply(decision, now) == [exposure]
    assert state.apply(decision, now) == []


def test_an_exposure_is_new_again_for_another_variant_or_ruleset(now: datetime) -> None:
    state = VisitorState.new(now)
    state.touch(now)
    a = Exposure("easter-banner", "a", "rule")
    b = Exposure("easter-banner", "b", "rule")
    state.apply(Decision(exposures=[a], ruleset_version="v1"), now)

    assert state.apply(Decision(exposures=[b], ruleset_version="v1"), now) == [b]
    assert state.apply(Decision(exposures=[a], ruleset_version="v2"), now) == [a]


def test_stored_state_survives_a_round_trip(now: datetime) -> None:
    state = full_state(now)

    assert VisitorState.from_json(state.to_json()) == state


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(None, id="none"),
        pytest.param([], id="list"),
        pytest.param({}, id="empty"),
        pytest.param({"i": "short", "f": 1}, id="id-too-short"),
        pytest.param({"i": 12345678901, "f": 1}, id="id-not-text"),
        pytest.param({"i": "abcdefgh1234"}, id="no-first-seen"),
        pytest.param({"i": "abcdefgh1234", "f": -5}, id="negative-time"),
        pytest.param({"i": "abcdefgh1234", "f": 1e30}, id="float-time"),
        pytest.param({"i": "abcdefgh1234", "f": 1, "n": "2"}, id="visits-text"),
        pytest.param({"i": "abcdefgh1234", "f": 1, "n": True}, id="visits-bool"),
        pytest.param({"i": "abcdefgh1234", "f": 1, "t": "vip"}, id="tags-not-list"),
        pytest.param({"i": "abcdefgh1234", "f": 1, "h": {"p": [1, 2]}}, id="products-not-text"),
        pytest.param({"i": "abcdefgh1234", "f": 1, "h": {"v": {"shoes": -1}}}, id="negative-views"),
        pytest.param({"i": "abcdefgh1234", "f": 1, "c": {"r": [1, 2]}}, id="caps-row-short"),
        pytest.param({"i": "abcdefgh1234", "f": 1, "c": []}, id="caps-not-mapping"),
    ],
)
def test_malformed_stored_state_reads_as_nothing(data: Any) -> None:
    assert VisitorState.from_json(data) is None


def test_stored_state_is_bounded_on_the_way_in(now: datetime) -> None:
    data = {"i": "abcdefgh1234", "f": 1, "h": {"p": [f"p{i}" for i in range(1000)]}}

    state = VisitorState.from_json(data)

    assert state is not None
    assert len(state.history.products) == 12


@pytest.mark.parametrize("value", [None, "", "   ", ["list"], {"a": 1}, True, 3.5])
def test_odd_page_values_are_not_remembered(now: datetime, value: object) -> None:
    state = VisitorState.new(now)

    state.record_page(product=value, category=value, search=value)

    assert state.history.to_json() == {}


def test_numeric_product_ids_are_remembered_as_text(now: datetime) -> None:
    state = VisitorState.new(now)

    state.record_page(product=1234)

    assert state.history.products == ["1234"]
