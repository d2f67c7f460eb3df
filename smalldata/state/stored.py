"""The stored form of one visitor's state: a small dict with one-letter keys, typed here.

Only :mod:`smalldata.state` reads these keys; everyone else asks
:class:`~smalldata.state.model.VisitorState` (``state.visits``, ``state.recent``, …).
The keys are short because the whole dict travels in a cookie.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["StoredState"]


class StoredState(TypedDict, total=False):
    """One visitor's stored state. Times are whole epoch seconds; empty parts are left out."""

    i: str  # the visitor id
    f: int  # first seen
    n: int  # visits
    l: int  # last seen (moved at most once a minute)  # noqa: E741
    s: int  # start of this visit
    p: int  # page views in this visit
    q: int  # end of the previous visit (its last request)
    t: list[str]  # tags
    c: dict[str, Any]  # cap counters per rule (see :class:`~smalldata.state.caps.CapLedger`)
    h: dict[str, Any]  # browsing history (see :class:`~smalldata.state.history.History`)
    m: dict[str, str | bool | int]  # the campaign this visit arrived with
    x: list[str]  # exposures reported (short hashes)
    u: str  # hash of the linked user
    v: int  # the format (:data:`~smalldata.state.model.FORMAT`)
    k: int  # a server store's core cookie: counters only, the rest is in the store
