"""The engine's answer for one request: plain data that delivery writes into the page.

Every text in a decision that is meant for the page (greeting, banner, chat
message) is already HTML-safe: the merchandiser's text and the signal values
placed in it were escaped when the template was rendered. Prefill values are
plain text, because the client sets them as form field values, never as HTML.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Final, Literal

Strategy = Literal["recently_viewed", "complements", "bestsellers", "new_arrivals", "personal", "remote"]

TraceStatus = Literal[
    "matched", "failed", "capped", "inactive", "shadowed", "not_in_experiment", "unknown_value", "closed", "disabled"
]


class Slot:
    """The names of a decision's slots, as rules, traces and pages (``data-smalldata-slot``) write them:
    two single slots and three families named after what they fill (``banner:hero``)."""

    GREETING: Final = "greeting"
    CHAT: Final = "chat"
    PREFILL: Final = "prefill:"  # + the form's name
    RECOMMEND: Final = "recommend:"  # + the recommendation slot's name
    BANNER: Final = "banner:"  # + the content slot's name

    @staticmethod
    def prefill(form: str) -> str:
        return Slot.PREFILL + form

    @staticmethod
    def recommend(slot: str) -> str:
        return Slot.RECOMMEND + slot

    @staticmethod
    def banner(slot: str) -> str:
        return Slot.BANNER + slot


@dataclass(frozen=True)
class Chat:
    """A proactive chat invitation (the same object may serve every visitor who gets it: never change it)."""

    rule: str
    message: str
    after_seconds: float | None = None
    on_exit_intent: bool = False
    department: str | None = None
    mode: Literal["online", "offline"] = "online"
    offline_action: str | None = None
    context: dict[str, Any] | None = None
    language: str | None = None  # the message's language, which the texts are in too
    texts: dict[str, str] | None = None  # the bubble's ``button`` and ``dismiss`` label (shared: never change)

    @cached_property
    def json(self) -> dict[str, Any]:
        """The invitation as the payload carries it (made once: a shared invitation serves many pages)."""
        return _drop_none(vars(self))


@dataclass(frozen=True)
class Banner:
    """A content slot filled with HTML-safe markup (shared like :class:`Chat`: never change it)."""

    rule: str
    slot: str
    html: str
    link: str | None = None

    @cached_property
    def json(self) -> dict[str, Any]:
        """The banner as the payload carries it (made once: a shared banner serves many pages)."""
        return _drop_none(vars(self))


@dataclass
class Recommendation:
    """A recommendation slot: the strategy asked for and, once resolved, the items."""

    rule: str
    slot: str
    strategy: str
    limit: int = 4
    exclude: list[str] = field(default_factory=list)
    title: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Exposure:
    """A visitor was assigned to a variant of an experiment (``control`` gets nothing)."""

    experiment: str
    variant: str
    rule: str
    forced: bool = False


@dataclass
class TraceEntry:
    """Why one rule did or did not apply."""

    rule: str
    status: TraceStatus
    detail: str = ""
    condition: str | None = None
    actual: Any = None
    by: str | None = None
    slots: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON; a failed condition always says the value seen, even when it was unknown."""
        values = {key: value for key, value in asdict(self).items() if value not in (None, "", [])}
        if self.status == "failed":
            values["actual"] = self.actual
        return values


@dataclass(slots=True)
class Decision:
    """Slots filled for one request, plus what the state layer must record."""

    greeting: str | None = None
    chat: Chat | None = None
    prefill: dict[str, dict[str, str]] = field(default_factory=dict)
    recommendations: dict[str, Recommendation] = field(default_factory=dict)
    banners: dict[str, Banner] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    experiments: dict[str, str] = field(default_factory=dict)
    matched: list[str] = field(default_factory=list)
    slot_rules: dict[str, str] = field(default_factory=dict)
    exposures: list[Exposure] = field(default_factory=list)
    cap_hits: list[str] = field(default_factory=list)
    chat_cap: dict[str, Any] | None = None  # the chat rule's cap and its period, for the browser to keep
    trace: list[TraceEntry] | None = None
    ruleset_version: str = ""

    @property
    def empty(self) -> bool:
        """Nothing for the page: no slot filled and no tag."""
        return not (self.slot_rules or self.tags)

    def to_json(self) -> dict[str, Any]:
        """The decision as ``smalldata try --json`` prints it and the page payload carries it.

        Shallow views, not ``asdict`` (which deep-copies every nested value): the
        result is serialised at once and costs a page a few microseconds, not tens.
        """
        chat = self.chat
        return {
            "greeting": self.greeting,
            "chat": (chat.json if self.chat_cap is None else {**chat.json, "cap": self.chat_cap})
            if chat is not None else None,
            "prefill": self.prefill,
            "recommendations": {slot: _drop_none(vars(r)) for slot, r in self.recommendations.items()}
            if self.recommendations else {},
            "banners": {slot: banner.json for slot, banner in self.banners.items()},
            "tags": self.tags,
            "experiments": self.experiments,
        }


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and key != "json"}
