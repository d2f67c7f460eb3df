"""``time.*``: the clock in the shop's time zone, opening hours and calendar events.

The clock is injected (a callable returning an aware UTC datetime), so tests,
``smalldata try --at`` and previews see the same time a real request would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from smalldata.signals.config import Event, MonthDay, Schedule, TimeRange
from smalldata.signals.spec import Group, Namespace, signal

if TYPE_CHECKING:
    from smalldata.signals.request import Request, RequestSignals

Clock = Callable[[], datetime]
"""Returns the current moment as an aware datetime (any zone; providers convert)."""

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYPARTS = ("night", "morning", "afternoon", "evening")  # what daypart() answers


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    """A clock frozen at ``moment`` (naive means UTC)."""
    frozen = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return lambda: frozen


def daypart(hour: int) -> str:
    """night 0-5, morning 6-11, afternoon 12-17, evening 18-23."""
    return ("night", "morning", "afternoon", "evening")[hour // 6]


NAMES = ("time.now", "time.hour", "time.minute", "time.weekday", "time.date", "time.month", "time.daypart",
         "time.open", "time.event")  # fmt: skip


class TimeSignals:
    """The provider of ``time.*`` for a shop: its opening hours and calendar events.

    Every request within one wall-clock minute shares the values but ``time.now``
    (worked out once per minute: the opening hours and events only change on a minute).
    """

    def __init__(self, schedule: Schedule, calendar: Mapping[str, Event]) -> None:
        self.schedule = schedule
        self.calendar = calendar
        self._whole_minutes = _whole_minutes(calendar)
        self._last: tuple[tuple[Any, ...], dict[str, Any]] | None = None

    def __call__(self, request: Request, signals: RequestSignals) -> Mapping[str, Any]:
        return self.at(request.now)

    def at(self, now: datetime) -> dict[str, Any]:
        """The ``time`` values at ``now`` (aware, in the shop's time zone)."""
        key = (now.tzinfo, now.year, now.month, now.day, now.hour, now.minute)
        last = self._last  # one read: another thread may replace it meanwhile
        if last is None or last[0] != key:
            last = self._last = (key, self._minute(now))
        values = last[1].copy()  # every request its own dict (and ``time.now``)
        values["time.now"] = now
        if not self._whole_minutes:  # an event turns within this minute: every request asks
            values["time.event"] = active_events(self.calendar, now)
        return values

    def _minute(self, now: datetime) -> dict[str, Any]:
        return {
            "time.now": None,
            "time.hour": now.hour,
            "time.minute": now.minute,
            "time.weekday": WEEKDAY_NAMES[now.weekday()],
            "time.date": now.date(),
            "time.month": now.month,
            "time.daypart": daypart(now.hour),
            "time.open": is_open(self.schedule, now),
            "time.event": active_events(self.calendar, now),
        }


def _whole_minutes(calendar: Mapping[str, Event]) -> bool:
    """Every event starts and ends on a whole minute (so one answer holds for the minute)."""
    return all(
        not isinstance(moment, datetime) or (moment.second == 0 and moment.microsecond == 0)
        for event in calendar.values()
        for moment in (event.start, event.until)
    )


# -- opening hours -----------------------------------------------------------------------------


def ranges_on(schedule: Schedule, day: date) -> tuple[TimeRange, ...]:
    """The opening ranges of one calendar day, after closed dates and special days."""
    if day in schedule.closed_dates:
        return ()
    special = schedule.special_days.get(day)
    if special is not None:
        return special
    return (schedule.opening_hours or {}).get(WEEKDAY_NAMES[day.weekday()], ())


def is_open(schedule: Schedule, now: datetime) -> bool | None:
    """Inside the opening hours at ``now`` (local wall time); None when no hours are configured.

    A range that ends at or before it starts runs past midnight, so Friday's
    ``22:00-02:00`` still counts at 01:00 on Saturday.
    """
    if not schedule.opening_hours and not schedule.special_days:
        return None
    # the same answer all minute: remembered per schedule (held, so its id stays its own)
    key = (id(schedule), now.year, now.month, now.day, now.hour, now.minute)
    known = _OPEN.get(key)
    if known is not None and known[0] is schedule:
        return known[1]
    answer = _is_open(schedule, now)
    if len(_OPEN) >= _OPEN_KEPT:
        _OPEN.clear()
    _OPEN[key] = (schedule, answer)
    return answer


_OPEN: dict[tuple[int, ...], tuple[Schedule, bool]] = {}
_OPEN_KEPT = 1024


def _is_open(schedule: Schedule, now: datetime) -> bool:
    minute = now.hour * 60 + now.minute
    today = now.date()
    for start, end in ranges_on(schedule, today):
        if start < end and start <= minute < end:
            return True
        if end <= start and minute >= start:
            return True
    yesterday = ranges_on(schedule, today - timedelta(days=1))
    return any(end <= start and minute < end for start, end in yesterday)


# -- calendar ----------------------------------------------------------------------------------


def active_events(calendar: Mapping[str, Event], now: datetime) -> list[str]:
    """Names of the calendar events active at ``now`` (local wall time), in configured order."""
    return [name for name, event in calendar.items() if event_active(event, now)]


def event_active(event: Event, now: datetime) -> bool:
    """Whether ``now`` falls inside ``event``."""
    if isinstance(event.start, MonthDay) and isinstance(event.until, MonthDay):
        today = (now.month, now.day)
        start, until = tuple(event.start), tuple(event.until)
        if start <= until:
            return start <= today <= until
        return today >= start or today <= until  # wraps the new year
    local = now.replace(tzinfo=None)
    return _start(event.start, now) <= local < _end(event.until, now)


def _start(value: date | datetime | MonthDay, now: datetime) -> datetime:
    if isinstance(value, datetime):
        return _local(value, now)
    assert isinstance(value, date)
    return datetime(value.year, value.month, value.day)


def _end(value: date | datetime | MonthDay, now: datetime) -> datetime:
    if isinstance(value, datetime):
        return _local(value, now)
    assert isinstance(value, date)
    # a date "until" includes the whole day
    return datetime(value.year, value.month, value.day) + timedelta(days=1)


def _local(value: datetime, now: datetime) -> datetime:
    """A configured moment as naive shop wall time (an offset, if given, is honoured)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(now.tzinfo).replace(tzinfo=None)


#: The ``time`` namespace (see :mod:`smalldata.signals.spec`): the clock in the shop's time zone.
NAMESPACE = Namespace(
    "time",
    signals=(
        signal("time.now", "datetime", "the current time in the shop's time zone"),
        signal("time.hour", "number", "hour of the day, 0-23", cycle=24, lower=0, upper=23),
        signal("time.minute", "number", "minute of the hour, 0-59", cycle=60, lower=0, upper=59),
        signal("time.weekday", "text", "day of the week", choices=WEEKDAY_NAMES),
        signal("time.date", "date", "today's date"),
        signal("time.month", "number", "month, 1-12", cycle=12, lower=1, upper=12),
        signal("time.daypart", "text", "part of the day", choices=DAYPARTS),
        signal("time.open", "bool", "inside the shop's opening hours"),
        signal("time.event", "list", "named calendar events active now"),
    ),
    groups=(Group(NAMES, lambda parts: TimeSignals(parts.settings, parts.settings.calendar)),),
)
