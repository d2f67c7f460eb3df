"""The condition language of docs/rules-reference.md §4, one behaviour per case."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.rules.helpers import compile_condition, holds

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 25, 23, 30, tzinfo=CPH)


@pytest.mark.parametrize(
    ("condition", "signals", "expected"),
    [
        pytest.param({"visitor.returning": True, "user.logged_in": False},
                     {"visitor.returning": True, "user.logged_in": False}, True, id="implicit-and-holds"),
        pytest.param({"visitor.returning": True, "user.logged_in": False},
                     {"visitor.returning": True, "user.logged_in": True}, False, id="implicit-and-fails"),
        pytest.param({"geo.country": ["DK", "SE", "NO"]}, {"geo.country": "NO"}, True, id="list-literal-is-one-of"),
        pytest.param({"geo.country": ["DK", "SE"]}, {"geo.country": "DE"}, False, id="one-of-misses"),
        pytest.param({"any": [{"geo.country": "DK"}, {"user.tier": "gold"}]},
                     {"geo.country": "SE", "user.tier": "gold"}, True, id="any"),
        pytest.param({"all": [{"geo.country": "DK"}, {"user.tier": "gold"}]},
                     {"geo.country": "SE", "user.tier": "gold"}, False, id="all"),
        pytest.param({"not": {"device.type": "mobile"}}, {"device.type": "desktop"}, True, id="not"),
        pytest.param({"basket.total": {"ne": 0}}, {"basket.total": 5}, True, id="ne"),
        pytest.param({"geo.country": {"not_in": ["DK"]}}, {"geo.country": "SE"}, True, id="not_in"),
        pytest.param({"basket.total": {"gt": 100}}, {"basket.total": 100}, False, id="gt-is-strict"),
        pytest.param({"basket.total": {"gte": 100}}, {"basket.total": 100}, True, id="gte"),
        pytest.param({"basket.total": {"lt": 100}}, {"basket.total": 99.5}, True, id="lt"),
        pytest.param({"basket.total": {"lte": 100}}, {"basket.total": 100.01}, False, id="lte"),
        pytest.param({"basket.total": {"between": [100, 200]}}, {"basket.total": 200}, True, id="between-inclusive"),
        pytest.param({"basket.total": {"gte": 100, "lt": 200}}, {"basket.total": 150}, True, id="two-operators-and"),
        pytest.param({"page.path": {"contains": "sale"}}, {"page.path": "/winter-sale/"}, True, id="contains-text"),
        pytest.param({"basket.skus": {"contains": "mug-hygge"}}, {"basket.skus": ["mug-hygge"]}, True,
                     id="contains-list"),
        pytest.param({"basket.skus": {"contains_any": ["a", "b"]}}, {"basket.skus": ["b", "c"]}, True,
                     id="contains_any"),
        pytest.param({"basket.skus": {"contains_all": ["a", "b"]}}, {"basket.skus": ["b", "c"]}, False,
                     id="contains_all"),
        pytest.param({"visitor.tags": "vip"}, {"visitor.tags": ["new", "vip"]}, True, id="scalar-on-list-contains"),
        pytest.param({"visitor.tags": ["vip", "press"]}, {"visitor.tags": ["press"]}, True,
                     id="list-on-list-contains-any"),
        pytest.param({"page.path": {"starts_with": ["/pricing", "/priser"]}}, {"page.path": "/priser/pro"}, True,
                     id="starts_with-any-prefix"),
        pytest.param({"page.path": {"ends_with": ".pdf"}}, {"page.path": "/a/manual.pdf"}, True, id="ends_with"),
        pytest.param({"page.path": {"matches": "^/products/[a-z-]+$"}}, {"page.path": "/products/mug"}, True,
                     id="matches"),
        pytest.param({"page.referrer": {"exists": True}}, {"page.referrer": None}, False, id="exists-true-on-null"),
        pytest.param({"page.referrer": {"exists": False}}, {}, True, id="exists-false-on-null"),
        pytest.param({"page.referrer": {"eq": None}}, {}, True, id="eq-null-on-null"),
        pytest.param({"history.viewed_products": {"empty": False}}, {"history.viewed_products": []}, False,
                     id="empty-false-on-a-new-visitors-history"),
        pytest.param({"history.viewed_products": {"empty": False}}, {"history.viewed_products": ["a"]}, True,
                     id="empty-false-on-a-history"),
        pytest.param({"history.viewed_products": {"empty": True}}, {}, False, id="empty-true-on-unknown"),
        pytest.param({"time.hour": {"between": [22, 2]}}, {"time.hour": 23}, True, id="hours-across-midnight-late"),
        pytest.param({"time.hour": {"between": [22, 2]}}, {"time.hour": 1}, True, id="hours-across-midnight-early"),
        pytest.param({"time.hour": {"between": [22, 2]}}, {"time.hour": 12}, False, id="hours-across-midnight-noon"),
        pytest.param({"time.now": "22:00-02:00"}, {"time.now": NOW}, True, id="clock-window-across-midnight"),
        pytest.param({"time.now": {"window": "09:00-17:00"}}, {"time.now": NOW}, False, id="clock-window-outside"),
        pytest.param({"time.weekday": ["sat", "sun"]}, {"time.weekday": "wed"}, False, id="weekday-list"),
        pytest.param({"history.category_views.shoes": {"gte": 3}}, {"history.category_views": {"shoes": 3}}, True,
                     id="behaviour-count"),
        pytest.param({"history.category_views.shoes": {"gte": 3}}, {"history.category_views": {"bags": 9}}, False,
                     id="behaviour-count-unseen-category-is-zero"),
        pytest.param({"history.category_views": {"shoes": {"gte": 3}}}, {"history.category_views": {"shoes": 4}},
                     True, id="behaviour-count-nested-form"),
        pytest.param({"page.query.utm_source": "newsletter"}, {"page.query": {"utm_source": "newsletter"}}, True,
                     id="query-parameter"),
        pytest.param({"visitor.first_seen": {"within": "7d"}, "time.now": {"exists": True}},
                     {"visitor.first_seen": NOW - timedelta(days=6), "time.now": NOW}, True, id="within"),
        pytest.param({"visitor.first_seen": {"older_than": "7d"}},
                     {"visitor.first_seen": NOW - timedelta(days=6), "time.now": NOW}, False, id="older_than"),
        pytest.param({"user.birthday": {"lt": "2000-01-01"}}, {"user.birthday": datetime(1990, 5, 1).date()}, True,
                     id="date-comparison"),
    ],
)
def test_condition(condition: object, signals: dict[str, object], expected: bool) -> None:
    assert holds(condition, signals) is expected


@pytest.mark.parametrize("operator", ["ne", "not_in", "gt", "lt", "contains", "starts_with", "matches"])
def test_unknown_values_match_no_operator_but_exists_false_and_eq_null(operator: str) -> None:
    literal = {"ne": "x", "not_in": ["x"], "gt": 0, "lt": 10, "contains": "x", "starts_with": "x", "matches": "x"}
    signal = "basket.total" if operator in ("gt", "lt") else "page.referrer"
    assert holds({signal: {operator: literal[operator]}}, {}) is False


def test_named_segments_are_reused() -> None:
    node, problems = compile_condition({"segment": "vip"}, {"vip": {"user.tier": ["gold", "platinum"]}})
    assert not problems
    from smalldata.signals.base import StaticSignals

    assert node.test(StaticSignals({"user.tier": "gold"}))
    assert not node.test(StaticSignals({"user.tier": "bronze"}))
    assert node.reads == {"user.tier"}


def test_a_compiled_condition_records_the_signals_it_reads() -> None:
    node, _ = compile_condition({"any": [{"page.path": "/"}, {"history.category_views.shoes": {"gte": 1}}],
                                 "visitor.first_seen": {"within": "1d"}})
    assert node.reads == {"page.path", "history.category_views", "visitor.first_seen", "time.now"}


def test_cheap_signals_are_tested_before_expensive_ones() -> None:
    from smalldata.rules.conditions import Group

    node, _ = compile_condition({"user.tier": "gold", "device.type": "mobile", "page.path": "/"})
    assert isinstance(node, Group)
    assert [c.label.split()[0] for c in node.children] == ["page.path", "device.type", "user.tier"]


def test_a_failing_condition_is_explained_with_the_actual_value() -> None:
    from smalldata.signals.base import StaticSignals

    node, _ = compile_condition({"page.path": {"starts_with": "/pricing"}, "time.open": True})
    failure = node.explain(StaticSignals({"page.path": "/pricing", "time.open": False}))
    assert failure is not None
    assert failure.condition == "time.open is true"
    assert failure.actual is False


def test_a_regex_that_backtracks_catastrophically_elsewhere_runs_in_linear_time_here() -> None:
    # (a+)+$ takes exponential time in Python's re on "aaaa…b"; RE2 answers at once
    assert holds({"page.path": {"matches": "(a+)+$"}}, {"page.path": "a" * 50_000 + "b"}) is False


def test_a_negation_says_whether_it_failed_on_a_value_or_on_an_unknown() -> None:
    from smalldata.signals.base import StaticSignals

    node, _ = compile_condition({"not": {"user.tier": "gold"}})
    held = node.explain(StaticSignals({"user.tier": "gold"}))
    assert held is not None and (held.condition, held.actual) == ("not (user.tier = 'gold')", "gold")
    unknown = node.explain(StaticSignals({}))
    assert unknown is not None and unknown.condition == "not (user.tier = 'gold'), but user.tier is unknown"


def test_a_number_in_a_list_condition_matches_the_number_in_the_list() -> None:
    # a list from a source, given: or --set holds "3" for 3 (one coercion), and so does the rule's literal
    assert holds({"visitor.tags": {"contains": 3}}, {"visitor.tags": ["1", "2", "3"]})
    assert holds({"visitor.tags": {"contains_any": [3, 9]}}, {"visitor.tags": ["3"]})
    assert holds({"visitor.tags": {"contains_all": [3.0, 1]}}, {"visitor.tags": ["1", "3"]})
    assert not holds({"visitor.tags": {"contains": 4}}, {"visitor.tags": ["1", "2", "3"]})
