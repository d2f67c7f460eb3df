"""Visitor state between requests: the model, its signed cookie codec and its stores (README.md, "Privacy")."""

from __future__ import annotations

from smalldata.state.caps import CapClaim, CapLedger, CapView, Period
from smalldata.state.codec import CookieCodec, cookie_header
from smalldata.state.config import ConsentSettings, HistorySettings, StateSettings
from smalldata.state.model import History, VisitorState, new_visitor_id
from smalldata.state.stores import CookieStore, MemoryStore, RedisStore, StateStore, make_store

__all__ = [
    "CapClaim",
    "CapLedger",
    "CapView",
    "ConsentSettings",
    "CookieCodec",
    "CookieStore",
    "History",
    "HistorySettings",
    "MemoryStore",
    "Period",
    "RedisStore",
    "StateSettings",
    "StateStore",
    "VisitorState",
    "cookie_header",
    "make_store",
    "new_visitor_id",
]
