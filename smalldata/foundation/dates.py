"""Reading dates and moments from what settings, services and visitors hand us.

A value may be a ``date``, a ``datetime`` or ISO text (``2026-12-24``,
``2026-12-24T18:00``, with an offset or ``Z``). A moment written without an offset
is in the shop's time zone, as everywhere in smalldata. Anything else is ``None``:
the caller decides whether that is an unknown value or an error for people.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

MAX_TEXT = 40  # longer text is no date: it is not parsed at all


def to_date(value: Any, zone: tzinfo | None = None) -> date | None:
    """The day of ``value`` (in ``zone`` when it is a moment with an offset and a zone is given)."""
    if isinstance(value, str):
        value = _parse(value)
    if isinstance(value, datetime):
        return value.astimezone(zone).date() if zone is not None and value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    return None


def to_moment(value: Any, zone: tzinfo) -> datetime | None:
    """``value`` as an aware moment; a day is its first moment, a naive time is ``zone``'s."""
    if isinstance(value, str):
        value = _parse(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    return None


def _parse(text: str) -> datetime | None:
    text = text.strip()
    if len(text) > MAX_TEXT:
        return None
    try:
        return datetime.fromisoformat(text)  # 2026-12-24 too, as its midnight
    except ValueError:
        return None
