"""The typed shape of a rule file, validated with pydantic.

Conditions (``when``, segments) stay free-form here: the condition compiler
checks them with positions of its own. Everything else is checked by these
models, and their errors are mapped back to ``file:line:col``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, field_validator, model_validator

from smalldata.decision import Strategy
from smalldata.rules.durations import parse_window


def _text(value: Any) -> Any:
    if isinstance(value, dict) and any("." in str(k) and v is None for k, v in value.items()):
        name = next(str(k) for k, v in value.items() if "." in str(k) and v is None)
        raise ValueError(f"this looks like a placeholder without quotes: write \"{{{name}}}\" in quotes")
    return value


Text = Annotated[str | dict[str, str], BeforeValidator(_text)]
YesNo = Annotated[bool, Strict()]  # only true and false: not yes, no, 0 or "false"
TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
Per = Literal["visit", "day", "week", "ever"]
Exclude = Literal["in_basket", "purchased", "viewed"]
ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")
SLOT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _slot_name(value: str) -> str:
    if not SLOT.match(value):
        raise ValueError(f"'{value}' is not a slot name: use lowercase letters, digits, - and _")
    return value


class Prefill(_Model):
    """Prefill the empty fields of ``<form data-smalldata-form="form">``."""

    form: str
    fields: dict[str, str] = Field(min_length=1)

    _form = field_validator("form")(_slot_name)


class OutsideHours(_Model):
    """What a chat invitation offers when the shop is closed."""

    message: Text
    action: Literal["message", "bot", "form"] = "message"


class Chat(_Model):
    """A proactive chat invitation."""

    message: Text
    after_seconds: float | None = Field(default=None, ge=0, le=3600)
    on_exit_intent: YesNo = False
    department: str | None = None
    only_when_open: YesNo = False
    outside_hours: OutsideHours | None = None
    context: YesNo = False

    @model_validator(mode="after")
    def _when(self) -> Chat:
        if self.after_seconds is None and not self.on_exit_intent:
            raise ValueError("a chat invitation needs after_seconds, on_exit_intent, or both")
        if self.outside_hours is not None and not self.only_when_open:
            raise ValueError("outside_hours only makes sense with only_when_open: true")
        return self


class Recommend(_Model):
    """A recommendation slot. What is in the basket is left out unless ``include_basket: true``."""

    strategy: Strategy
    slot: str = "recommendations"
    limit: int = Field(default=4, ge=1, le=50)
    exclude: list[Exclude] = Field(default_factory=list)
    include_basket: bool = False
    title: Text | None = None
    category: str | None = None
    fallback: Strategy | None = None

    _slot = field_validator("slot")(_slot_name)

    @model_validator(mode="after")
    def _basket(self) -> Recommend:
        if self.include_basket and "in_basket" in self.exclude:
            raise ValueError("exclude: [in_basket] and include_basket: true contradict each other; keep one")
        return self

    @property
    def exclusions(self) -> list[str]:
        """``exclude`` and, unless the rule asks for them, the products in the basket."""
        if self.include_basket or "in_basket" in self.exclude:
            return list(self.exclude)
        return [*self.exclude, "in_basket"]


class Banner(_Model):
    """A content slot: ``text`` is plain text, ``html`` is trusted markup written by the merchandiser.

    Signal values placed in either are always HTML-escaped.
    """

    slot: str
    text: Text | None = None
    html: Text | None = None
    link: str | None = None

    _slot = field_validator("slot")(_slot_name)

    @model_validator(mode="after")
    def _one_body(self) -> Banner:
        if (self.text is None) == (self.html is None):
            raise ValueError("a banner needs exactly one of text or html")
        return self


class Actions(_Model):
    """What a rule does when it applies."""

    greeting: Text | None = None
    prefill: Prefill | list[Prefill] | None = None
    chat: Chat | None = None
    recommend: Recommend | list[Recommend] | None = None
    banner: Banner | list[Banner] | None = None
    tag: str | list[str] | None = None

    @model_validator(mode="after")
    def _something(self) -> Actions:
        if not self.model_fields_set:
            raise ValueError("no action given: use greeting, prefill, chat, recommend, banner or tag")
        empty = [name for name in sorted(self.model_fields_set) if getattr(self, name) is None]
        if empty:
            raise ValueError(f"'{empty[0]}' has no value")
        return self

    @field_validator("tag")
    @classmethod
    def _tags(cls, value: str | list[str] | None) -> str | list[str] | None:
        for tag in [value] if isinstance(value, str) else value or []:
            if not TAG.match(tag):
                raise ValueError(f"'{tag}' is not a tag name: use lowercase letters, digits, - and _")
        return value


class Cap(_Model):
    """At most ``max`` times per visitor per ``per``."""

    max: int = Field(ge=1, le=10_000)
    per: Per


class Active(_Model):
    """When a rule runs, in the shop's time zone. ``until`` as a date includes that whole day."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: date | datetime | None = Field(default=None, alias="from")
    until: date | datetime | None = None
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = None
    hours: str | None = None

    @field_validator("hours")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None:
            parse_window(value)
        return value

    @model_validator(mode="after")
    def _order(self) -> Active:
        if self.from_ is not None and self.until is not None and _day(self.from_) > _day(self.until):
            raise ValueError("'from' is after 'until': this rule would never run")
        return self


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


class Variant(_Model):
    """One arm of an experiment; a variant without ``then`` shows nothing, like the control."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    weight: float = Field(ge=0, le=100)
    then: Actions | None = None


class Experiment(_Model):
    """Deterministic, sticky assignment by hash of (salt, key, visitor id)."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    salt: str | None = None
    variants: list[Variant] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self) -> Experiment:
        total = sum(v.weight for v in self.variants)
        if total > 100:
            raise ValueError(f"variant weights add up to {total:g}, more than 100")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names) or "control" in names:
            raise ValueError("variant names must be unique and not 'control' (the share left over)")
        return self


class Rule(_Model):
    """One rule: when a visitor matches, fill slots."""

    id: str
    description: str = ""
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    enabled: YesNo = True
    when: Any = None
    then: Actions | None = None
    experiment: Experiment | None = None
    cap: Cap | None = None
    active: Active | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID.match(value):
            raise ValueError(f"'{value}' is not a rule id: use lowercase letters, digits, -, _ and .")
        return value

    @model_validator(mode="after")
    def _then_or_experiment(self) -> Rule:
        if (self.then is None) == (self.experiment is None):
            raise ValueError("a rule needs exactly one of 'then' or 'experiment'")
        return self


class Expect(_Model):
    """What a rule test expects. Only the fields written are checked."""

    greeting: str | None = None
    chat: str | None = None
    banners: dict[str, str | None] = Field(default_factory=dict)
    prefill: dict[str, dict[str, str] | None] = Field(default_factory=dict)
    recommendations: dict[str, str | None] = Field(default_factory=dict)
    tags: list[str] | None = None
    experiments: dict[str, str | None] = Field(default_factory=dict)
    matched: list[str] | None = None
    not_matched: list[str] = Field(default_factory=list)


class RuleTest(_Model):
    """Given signals (and optionally a time, URL and visitor id), expect slots and matched rules."""

    name: str
    given: dict[str, Any] = Field(default_factory=dict)
    at: datetime | None = None
    url: str | None = None
    visitor_id: str | None = None
    caps: dict[str, int] = Field(default_factory=dict)
    expect: Expect

    @field_validator("at", mode="before")
    @classmethod
    def _date_is_midnight(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day)
        return value
