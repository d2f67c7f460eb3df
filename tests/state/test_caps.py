"""Frequency caps: counted per visit, per day and week in the shop's timezone, and ever."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smalldata.decision import Decision
from smalldata.state import CapLedger, Period, VisitorState

SHOP = ZoneInfo("Europe/Copenhagen")


def _visitor(at: datetime) -> VisitorState:
    state = VisitorState.new(at)
    state.touch(at)
    return state


def _hit(state: VisitorState, at: datetime, rule: str = "pricing-chat") -> None:
    state.touch(at)
    state.apply(Decision(cap_hits=[rule]), at)


def _counts(state: VisitorState, at: datetime, rule: str = "pricing-chat") -> dict[str, int]:
    caps = state.caps_at(at)
    return {per: caps.count(rule, per) for per in ("visit", "day", "week", "ever")}


def test_a_rule_never_shown_counts_zero(now: datetime) -> None:
    assert _counts(_visitor(now), now) == {"visit": 0, "day": 0, "week": 0, "ever": 0}


def test_each_application_counts_in_every_period(now: datetime) -> None:
    state = _visitor(now)
    _hit(state, now)
    _hit(state, now + timedelta(minutes=1))

    assert _counts(state, now + timedelta(minutes=2)) == {"visit": 2, "day": 2, "week": 2, "ever": 2}


def test_visit_count_restarts_with_a_new_visit(now: datetime) -> None:
    state = _visitor(now)
    _hit(state, now)
    later = now + timedelta(hours=1)
    state.touch(later)

    assert _counts(state, later) == {"visit": 0, "day": 1, "week": 1, "ever": 1}


def test_day_turns_at_midnight_in_the_shop_timezone() -> None:
    # 23:50 and 00:10 Copenhagen time are on the same UTC day (22:50, 23:10 UTC).
    before = datetime(2026, 11, 25, 23, 50, tzinfo=SHOP)
    after = datetime(2026, 11, 26, 0, 10, tzinfo=SHOP)
    assert before.astimezone(ZoneInfo("UTC")).date() == after.astimezone(ZoneInfo("UTC")).date()
    state = _visitor(before)
    _hit(state, before)

    # Same visit (20 minutes apart), but a new shop day.
    assert _counts(state, after) == {"visit": 1, "day": 0, "week": 1, "ever": 1}


def test_day_holds_until_midnight_in_the_shop_timezone() -> None:
    # 00:30 and 01:30 Copenhagen are on different UTC days (23:30 and 00:30 UTC).
    early = datetime(2026, 11, 26, 0, 30, tzinfo=SHOP)
    state = _visitor(early)
    _hit(state, early)

    assert _counts(state, early + timedelta(hours=1))["day"] == 1


def test_week_turns_on_monday_in_the_shop_timezone() -> None:
    sunday = datetime(2026, 11, 29, 23, 45, tzinfo=SHOP)
    monday = datetime(2026, 11, 30, 0, 15, tzinfo=SHOP)
    state = _visitor(sunday)
    _hit(state, sunday)

    assert _counts(state, sunday + timedelta(minutes=10))["week"] == 1
    assert _counts(state, monday) == {"visit": 1, "day": 0, "week": 0, "ever": 1}


def test_week_spans_the_days_from_monday_to_sunday() -> None:
    monday = datetime(2026, 11, 23, 9, tzinfo=SHOP)
    state = _visitor(monday)
    _hit(state, monday)
    _hit(state, monday + timedelta(days=3))
    sunday = monday + timedelta(days=6, hours=14)
    state.touch(sunday)

    assert _counts(state, sunday) == {
        "visit": 0,
        "day": 0,
        "week": 2,
        "ever": 2,
    }


def test_ever_never_resets(now: datetime) -> None:
    state = _visitor(now)
    _hit(state, now)
    _hit(state, now + timedelta(days=40))

    assert _counts(state, now + timedelta(days=400))["ever"] == 2


def test_counts_survive_storage(now: datetime) -> None:
    state = _visitor(now)
    _hit(state, now)

    restored = VisitorState.from_json(state.to_json())

    assert restored is not None
    assert _counts(restored, now) == {"visit": 1, "day": 1, "week": 1, "ever": 1}


def test_unknown_period_counts_zero(now: datetime) -> None:
    state = _visitor(now)
    _hit(state, now)

    assert state.caps_at(now).count("pricing-chat", "month") == 0


def test_ledger_keeps_a_bounded_number_of_rules(now: datetime) -> None:
    ledger = CapLedger(limit=3)
    for day in range(5):
        ledger.hit(f"rule-{day}", Period.at(now, now + timedelta(days=day)))

    assert sorted(ledger.rows) == ["rule-2", "rule-3", "rule-4"]


@pytest.mark.parametrize(
    ("mine", "theirs", "merged"),
    [
        pytest.param([5, 1, 10, 1, 7, 1, 4], [5, 3, 10, 2, 7, 2, 2], [5, 3, 10, 2, 7, 2, 4], id="same-periods"),
        pytest.param([5, 1, 10, 1, 7, 1, 4], [6, 1, 11, 1, 7, 3, 5], [6, 1, 11, 1, 7, 3, 5], id="theirs-newer"),
        pytest.param([6, 2, 11, 2, 14, 2, 9], [5, 3, 10, 3, 7, 3, 3], [6, 2, 11, 2, 14, 2, 9], id="mine-newer"),
    ],
)
def test_merging_another_devices_counts(mine: list[int], theirs: list[int], merged: list[int]) -> None:
    ledger = CapLedger({"r": mine})

    ledger.merge(CapLedger({"r": theirs, "other": [1, 1, 1, 1, 1, 1, 1]}))

    assert ledger.rows == {"r": merged, "other": [1, 1, 1, 1, 1, 1, 1]}
