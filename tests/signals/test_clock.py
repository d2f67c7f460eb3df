"""time.*: the shop's clock, opening hours and calendar events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smalldata.signals.clock import fixed_clock, system_clock

from .helpers import SHOP, request, settings

HOURS = settings(
    opening_hours={
        "mon": "09:00-17:30",
        "tue": "09:00-17:30",
        "wed": ["10:00-12:00", "13:00-17:00"],
        "fri": ["09:00-17:00", "22:00-02:00"],
        "sun": "closed",
    },
    closed_dates=["2026-12-25"],
    special_days={"2026-12-24": "10:00-14:00", "2026-12-27": "12:00-15:00"},
)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHOP)


def test_time_signals_are_in_the_shops_time_zone_not_utc() -> None:
    utc_evening = datetime(2026, 6, 1, 21, 30, tzinfo=UTC)  # 23:30 in Copenhagen (summer time)
    signals = request(now=utc_evening)
    assert signals.get("time.hour") == 23
    assert signals.get("time.minute") == 30
    assert signals.get("time.weekday") == "mon"
    assert signals.get("time.daypart") == "evening"
    assert signals.get("time.date").isoformat() == "2026-06-01"
    assert signals.get("time.month") == 6
    assert signals.get("time.now").utcoffset().total_seconds() == 7200


def test_a_naive_moment_is_wall_time_in_the_shop() -> None:
    assert request(now=datetime(2026, 1, 5, 8, 15)).get("time.hour") == 8


@pytest.mark.parametrize(
    ("hour", "daypart"),
    [(0, "night"), (5, "night"), (6, "morning"), (11, "morning"), (12, "afternoon"), (17, "afternoon"),
     (18, "evening"), (23, "evening")],
)
def test_daypart_follows_the_hour(hour: int, daypart: str) -> None:
    assert request(now=at(2026, 3, 2, hour, 59)).get("time.daypart") == daypart


@pytest.mark.parametrize(
    ("name", "moment", "is_open"),
    [
        ("monday opening minute", at(2026, 11, 23, 9, 0), True),
        ("monday before opening", at(2026, 11, 23, 8, 59), False),
        ("monday closing minute is closed", at(2026, 11, 23, 17, 30), False),
        ("wednesday lunch break", at(2026, 11, 25, 12, 30), False),
        ("wednesday afternoon", at(2026, 11, 25, 13, 0), True),
        ("thursday not listed", at(2026, 11, 26, 12, 0), False),
        ("friday late range", at(2026, 11, 27, 23, 0), True),
        ("saturday early, friday's range past midnight", at(2026, 11, 28, 1, 59), True),
        ("saturday after friday's range", at(2026, 11, 28, 2, 0), False),
        ("sunday closed", at(2026, 11, 29, 12, 0), False),
        ("christmas eve special hours", at(2026, 12, 24, 13, 0), True),
        ("christmas eve after special hours", at(2026, 12, 24, 15, 0), False),
        ("closed date on a friday", at(2026, 12, 25, 12, 0), False),
        ("closed friday still ends at 02:00 - not open", at(2026, 12, 26, 1, 0), False),
        ("special opening on a sunday", at(2026, 12, 27, 13, 0), True),
    ],
)
def test_open_follows_opening_hours_closed_dates_and_special_days(
    name: str, moment: datetime, is_open: bool
) -> None:
    assert request(config=HOURS, now=moment).get("time.open") is is_open, name


def test_open_is_unknown_when_no_hours_are_configured() -> None:
    assert request(now=at(2026, 11, 23, 12, 0)).get("time.open") is None


def test_whole_day_range_until_midnight() -> None:
    config = settings(opening_hours={"sat": "00:00-24:00"})
    assert request(config=config, now=at(2026, 11, 28, 23, 59)).get("time.open") is True
    assert request(config=config, now=at(2026, 11, 29, 0, 0)).get("time.open") is False


CALENDAR = settings(
    calendar={
        "christmas": {"from": "12-20", "until": "12-26"},
        "new_year": {"from": "12-31", "until": "01-01"},
        "black_friday": {"from": "2026-11-27", "until": "2026-11-30"},
        "flash_sale": {"from": "2026-11-25T18:00", "until": "2026-11-25T20:00"},
    }
)


@pytest.mark.parametrize(
    ("moment", "events"),
    [
        (at(2026, 12, 19, 23, 59), []),
        (at(2026, 12, 20, 0, 0), ["christmas"]),
        (at(2026, 12, 26, 23, 59), ["christmas"]),
        (at(2027, 12, 24, 12, 0), ["christmas"]),  # yearly: next year too
        (at(2026, 12, 31, 12, 0), ["new_year"]),
        (at(2027, 1, 1, 12, 0), ["new_year"]),  # wraps the year
        (at(2027, 1, 2, 0, 0), []),
        (at(2026, 11, 30, 23, 59), ["black_friday"]),  # a date "until" includes the whole day
        (at(2026, 12, 1, 0, 0), []),
        (at(2027, 11, 27, 12, 0), []),  # a dated event does not recur
        (at(2026, 11, 25, 17, 59), []),
        (at(2026, 11, 25, 18, 0), ["flash_sale"]),
        (at(2026, 11, 25, 20, 0), []),  # a date-time "until" is exclusive
    ],
)
def test_event_lists_the_calendar_events_active_now(moment: datetime, events: list[str]) -> None:
    assert request(config=CALENDAR, now=moment).get("time.event") == events


def test_event_is_an_empty_list_without_a_calendar() -> None:
    assert request().get("time.event") == []


def test_fixed_clock_is_aware_and_system_clock_is_utc() -> None:
    assert fixed_clock(datetime(2026, 1, 1, 12))() == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert system_clock().tzinfo is UTC


def test_requests_in_one_minute_share_its_values_but_not_the_moment() -> None:
    config = settings(calendar={"sale": {"from": "2026-11-25", "until": "2026-11-25"}})
    first = request(config=config, now=at(2026, 11, 25, 10, 0, 5)).namespace("time")
    second = request(config=config, now=at(2026, 11, 25, 10, 0, 45)).namespace("time")

    assert first.pop("time.now") != second.pop("time.now")
    assert first == second
    assert first["time.event"] == ["sale"]
    assert first["time.event"] is not second["time.event"]  # each request may change its own list


@pytest.mark.parametrize(("second", "active"), [(29, False), (30, True), (59, True)])
def test_an_event_that_starts_within_a_minute_starts_on_its_second(second: int, active: bool) -> None:
    config = settings(calendar={"launch": {"from": "2026-11-25T10:30:30", "until": "2026-11-26"}})
    request(config=config, now=at(2026, 11, 25, 10, 30, 0)).get("time.event")  # the minute seen before

    events = request(config=config, now=at(2026, 11, 25, 10, 30, second)).get("time.event")

    assert ("launch" in events) is active


def test_other_settings_in_the_same_minute_get_their_own_answers() -> None:
    moment = at(2026, 11, 23, 9, 0)
    assert request(config=HOURS, now=moment).get("time.open") is True
    assert request(config=settings(), now=moment).get("time.open") is None
    assert request(config=settings(opening_hours={"mon": "10:00-12:00"}), now=moment).get("time.open") is False
