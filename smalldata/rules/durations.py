"""Durations (``30m``, ``12h``, ``7d``, ``1h30m``) and clock windows (``22:00-02:00``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta

_DURATION = re.compile(r"^(?:\d+[smhdwy])+$")
_PART = re.compile(r"(\d+)([smhdwy])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 365 * 86400}
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_duration(text: object) -> timedelta:
    """``"90m"`` → 90 minutes. Raises ValueError with a message for people."""
    if not isinstance(text, str) or not _DURATION.match(text.strip()):
        raise ValueError(f"{text!r} is not a duration; write e.g. 30m, 12h, 7d, 2w, 18y or 1h30m")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text))
    if seconds > 150 * 365 * 86400:
        raise ValueError(f"{text!r} is longer than 150 years")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class ClockWindow:
    """A time-of-day window in minutes after midnight, start inclusive and end exclusive.

    A window whose end is before its start crosses midnight (``22:00-02:00``);
    ``00:00-24:00`` is the whole day.
    """

    start: int
    end: int

    def contains(self, moment: time) -> bool:
        minute = moment.hour * 60 + moment.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


def parse_window(text: object) -> ClockWindow:
    """``"22:00-02:00"`` → a window across midnight. Raises ValueError with a message for people."""
    match = _WINDOW.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a time window; write e.g. \"09:00-17:30\" or \"22:00-02:00\"")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start > 1440 or end > 1440:
        raise ValueError(f"{text!r} has a time that does not exist")
    if start == end:
        raise ValueError(f"{text!r} is empty: it starts and ends at the same minute")
    return ClockWindow(start % 1440 if start == 1440 else start, end)
