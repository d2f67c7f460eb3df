"""Checking a visitor's stored state when it comes from anywhere that could hold anything
(a server store, a cookie written by an older version): the shape of every part, every list
bounded in place. A signed cookie marked with the current format skips this (it was written
from checked state).
"""

from __future__ import annotations

from typing import Any

from smalldata.state.caps import CapLedger
from smalldata.state.config import HistorySettings
from smalldata.state.history import MAX_TEXT, put, texts_ok, valid_history

__all__ = ["CAMPAIGN_KEYS", "CAMPAIGN_KINDS", "EXPOSURES", "TAGS", "valid_state"]

TAGS = 20
EXPOSURES = 12
CAMPAIGN_KEYS = 8
CAMPAIGN_KINDS = (str, bool, int)
_MAX_COUNT = 2**40


def valid_state(data: dict[str, Any], limits: HistorySettings) -> bool:
    """Stored state as :meth:`VisitorState.to_json` writes it, bounded in place; False when malformed.

    The cookie is signed, so its data was written by smalldata; the checks guard against
    older versions and other stores, and cost about a microsecond.
    """
    visitor_id = data.get("i")
    if type(visitor_id) is not str or not 8 <= len(visitor_id) <= 32 or not visitor_id.isascii():
        return False
    if not visitor_id.isprintable() or "f" not in data:
        return False
    for key in _SCALARS:
        value = data.get(key, 0)
        if type(value) is not int or not 0 <= value < _MAX_COUNT:
            return False
    for key in _OPTIONAL:  # noqa: SIM110 - a loop, not all(): no generator per cookie
        if key in data and not _VALIDATORS[key](data, limits):
            return False
    return True


def _tags(data: dict[str, Any], limits: HistorySettings) -> bool:
    return texts_ok(data, "t", TAGS)


def _exposures(data: dict[str, Any], limits: HistorySettings) -> bool:
    return texts_ok(data, "x", EXPOSURES)


def _history(data: dict[str, Any], limits: HistorySettings) -> bool:
    history = data["h"]
    return type(history) is dict and valid_history(history, limits)


def _caps(data: dict[str, Any], limits: HistorySettings) -> bool:
    return CapLedger.from_json(data["c"]) is not None


def _campaign_ok(data: dict[str, Any], limits: HistorySettings) -> bool:
    return _valid_campaign(data, data["m"])


def _user(data: dict[str, Any], limits: HistorySettings) -> bool:
    return data["u"] is None or type(data["u"]) is str


_SCALARS = ("f", "n", "p", "s", "l", "q", "v")  # whole seconds and counts
_VALIDATORS = {"t": _tags, "x": _exposures, "h": _history, "c": _caps, "m": _campaign_ok, "u": _user}
_OPTIONAL = tuple(_VALIDATORS)


def _valid_campaign(data: dict[str, Any], campaign: Any) -> bool:
    if type(campaign) is not dict:
        return False
    items = list(campaign.items())[:CAMPAIGN_KEYS]
    kept = {
        str(key)[:MAX_TEXT]: item[:MAX_TEXT] if isinstance(item, str) else item
        for key, item in items
        if isinstance(item, CAMPAIGN_KINDS)
    }
    put(data, "m", kept or None)  # an empty campaign is left out, as set_campaign does
    return True
