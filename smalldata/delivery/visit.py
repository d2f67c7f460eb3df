"""The seam between delivery and the rest: what a personalised request looks like to the page.

Delivery (HTML injection, headers, endpoints) only sees the protocols here. The
application (:mod:`smalldata.app`) implements them with the real signals, rules
and state; tests implement them with a few lines.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.types import Scope

from smalldata.decision import Decision, Exposure


class Recorder(Protocol):
    """Records a visit once delivered: ``(Set-Cookie values, new exposures or None when unknown)``."""

    def __call__(self, page: bool, /) -> Awaitable[tuple[list[str], list[Exposure] | None]]: ...


EventType = Literal["chat_shown", "chat_accepted", "chat_dismissed", "conversion"]


class ClientEvent(BaseModel):
    """One event the client script (or the shop) reports to ``POST /_smalldata/events``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: EventType
    rule: str | None = Field(default=None, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$")
    path: str | None = Field(default=None, max_length=2000)
    value: float | None = Field(default=None, ge=0, le=1e9)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    order_id: str | None = Field(default=None, max_length=120)

    @model_validator(mode="after")
    def _chat_names_its_rule(self) -> ClientEvent:
        if self.type.startswith("chat_") and not self.rule:
            raise ValueError(f"a {self.type} event needs the 'rule' of the invitation")
        return self


class ServerConversion(BaseModel):
    """An order the shop's server reports (``record_conversion`` or ``POST /_smalldata/conversions``).

    ``visitor`` is the visitor id, or ``cookie`` the value of the visitor cookie the order's
    browser sent (an order service that is not the web shop gets it passed along with the order).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: str = Field(min_length=1, max_length=120)
    value: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    visitor: str | None = Field(default=None, max_length=32)
    cookie: str | None = Field(default=None, max_length=4096)
    path: str | None = Field(default=None, max_length=2000)


class Visit:
    """One request's personalisation: the decision and how to record it once delivered.

    ``deliver(page=True)`` is called once the response turns out to be an HTML page
    (the page view counts, caps and tags are recorded); ``page=False`` for anything
    else. It returns ``Set-Cookie`` header values to add to the response. The
    ``recorder``, when given, is the one way a visit is recorded: it holds what it
    needs (the store and the visitor's state, or a preview's log) and answers
    ``(cookies, new exposures or None when unknown)``. ``no_store`` marks a response
    no cache may keep at all (a preview). ``personal`` says the decision was made
    from this visitor's own state: their page is theirs (``Cache-Control: private``)
    even when nothing in it was personalised.
    """

    __slots__ = ("decision", "exposures", "no_store", "personal", "recorder", "vary")

    def __init__(self, decision: Decision, vary: tuple[str, ...] = (), recorder: Recorder | None = None,
                 exposures: list[Exposure] | None = None, no_store: bool = False, personal: bool = False) -> None:
        self.decision = decision
        self.vary = vary
        self.recorder = recorder
        self.exposures = exposures
        self.no_store = no_store
        self.personal = personal

    async def deliver(self, *, page: bool) -> list[str]:
        """Record what was delivered; returns ``Set-Cookie`` values."""
        if self.recorder is None:
            return []
        cookies, new_exposures = await self.recorder(page)
        if new_exposures is not None:
            self.exposures = new_exposures
        return cookies

    @property
    def reported_exposures(self) -> list[Exposure]:
        """Exposures to announce on the page: only those this visitor has not had yet, when known."""
        exposures = self.decision.exposures if self.exposures is None else self.exposures
        return [e for e in exposures if not e.forced] if exposures else []


class Pages(Protocol):
    """Decides for pages: what the middleware and ``/decide`` ask for every request."""

    async def begin(self, scope: Scope, *, path: str | None = None) -> Visit | None:
        """Decide for this request (or ``path``, for ``/decide``); ``None`` leaves it alone."""


class ClientEvents(Protocol):
    """Records what the client script reports (``POST /_smalldata/events``)."""

    async def record(self, scope: Scope, event: ClientEvent) -> list[str]:
        """Record a client event (and, for a dismissed chat, the visitor's state); ``Set-Cookie`` values."""

    def visitor_key(self, scope: Scope) -> str | None:
        """A stable key for rate limiting this visitor, if they have one."""

    def established(self, scope: Scope) -> bool:
        """Whether the request carries the cookie of a visitor first seen a while ago (not one minted now)."""

    async def server_conversion(self, scope: Scope | None, order: ServerConversion) -> bool:
        """Record an order the shop's server reports; ``False`` when that order id was recorded already."""


class Health(Protocol):
    """What ``GET /_smalldata/health`` reports."""

    async def report(self) -> dict[str, Any]:
        """Ruleset version, load errors and whatever else the health endpoint should show."""


def payload_data(visit: Visit, prefix: str, exposures: list[Exposure] | None = None) -> dict[str, Any]:
    """What the page payload and ``/decide`` carry (``exposures``: ``visit.reported_exposures``, if known)."""
    if exposures is None:
        exposures = visit.reported_exposures
    return {
        "decision": visit.decision.to_json(),
        "exposures": [{"experiment": e.experiment, "variant": e.variant, "rule": e.rule} for e in exposures],
        "version": visit.decision.ruleset_version,
        "events": prefix + "events",
    }
