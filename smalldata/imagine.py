"""An imagined visitor: the signals a real request would produce, plus what a merchandiser sets.

``smalldata try``, ``smalldata test`` and previews all go through here, so they
see exactly what the middleware would compute for such a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from smalldata.settings import Settings
from smalldata.signals.clock import system_clock
from smalldata.signals.request import RequestSignals, make_scope, signals_for
from smalldata.state.model import VisitorState

DEFAULT_VISITOR_ID = "imagined-visitor"


@dataclass
class Imagined:
    """What describes an imagined request."""

    given: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    at: datetime | None = None
    language: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    visitor_id: str | None = None

    def signals(self, settings: Settings) -> RequestSignals:
        """The signals of this request; what is not given is what the shop would see for a new,
        anonymous visitor (``visitor.returning`` false, ``user.logged_in`` false, empty history).

        Raises ``ValueError`` for a URL that cannot be requested.
        """
        headers = dict(self.headers)
        if self.user_agent is not None:
            headers["user-agent"] = self.user_agent
        if self.language is not None:
            headers["accept-language"] = self.language
        scope = make_scope(self.url or "/", headers=headers, client_ip=self.ip or "127.0.0.1")
        scope["session"] = {}  # a shop with a session key: nobody logged in
        if not settings.user.session_key and not settings.user.callable:
            scope["user"] = False  # a shop using scope["user"]: anonymous
        now = self.at or system_clock()
        now = now if now.tzinfo else now.replace(tzinfo=settings.zone)
        visitor = VisitorState.new(now.astimezone(settings.zone), id=self.visitor_id or DEFAULT_VISITOR_ID)
        visitor.touch(now.astimezone(settings.zone))  # this request is the visitor's first page view
        return signals_for(scope, settings, now=now, overrides=self.given, visitor=visitor)


def parse_moment(text: str, settings: Settings) -> datetime:
    """``2026-12-24T18:00`` (shop time), ``2026-12-24`` (midnight) or with an offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"'{text}' is not a time; write e.g. 2026-12-24T18:00") from None
        moment = datetime(day.year, day.month, day.day)
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.zone)
