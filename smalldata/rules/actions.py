"""Actions compiled once: each fills one slot of a decision, or says why it cannot.

Slots are ``greeting``, ``chat``, ``prefill:<form>``, ``recommend:<slot>`` and
``banner:<slot>``; tags are not slots and always apply. A text without
placeholders is rendered at load, once per language: filling its slot on a page
is then a dictionary lookup (a banner or chat invitation without placeholders is
even the same immutable object for every visitor who sees it in that language).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smalldata import decision as d
from smalldata.decision import TraceStatus
from smalldata.rules import model
from smalldata.rules.chat_texts import BUILT_IN_TEXTS, ChatTexts, Mode, texts_for
from smalldata.rules.templates import LangText, Template, Unknown, compile_text
from smalldata.signals.base import Signals
from smalldata.signals.catalog import BUILT_IN, Catalog

Fill = Callable[[Signals, d.Decision, str], None]

CONTEXT_SIGNALS = (
    "user.logged_in", "user.first_name", "user.name", "user.tier", "visitor.returning", "visitor.visits",
    "basket.count", "basket.total", "basket.currency", "history.viewed_products", "campaign.source",
    "campaign.medium", "page.path",
)  # fmt: skip


class NotApplied(Exception):
    """An action that matched but cannot be shown now (an unknown value, the shop is closed).

    ``status`` is what a trace calls it: ``unknown_value``, ``closed`` or ``capped``.
    """

    def __init__(self, reason: str, signal: str | None = None, status: TraceStatus = "unknown_value") -> None:
        self.reason = reason
        self.signal = signal
        self.status = status
        super().__init__(reason)


@dataclass(frozen=True)
class SlotAction:
    """One action bound to the slot it fills."""

    slot: str
    fill: Fill
    reads: frozenset[str]
    constant: bool = False  # no placeholder and no condition of its own: it always applies


@dataclass(frozen=True)
class ActionSet:
    """Everything one rule (or one experiment variant) does."""

    actions: tuple[SlotAction, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(a.slot for a in self.actions)

    @property
    def reads(self) -> frozenset[str]:
        return frozenset().union(*(a.reads for a in self.actions))


class Text:
    """A compiled text, ready for a page: rendered at load when it has no placeholder."""

    __slots__ = ("escape", "fixed", "source", "versions")

    def __init__(self, source: LangText, *, escape: bool = True) -> None:
        self.source = source
        self.escape = escape
        self.versions = source.versions
        fixed = {language: template.constant for language, template in source.versions.items()}
        # the language does not matter when there is only one version
        self.fixed: dict[str, str] | None = None if None in fixed.values() else fixed  # type: ignore[assignment]

    @property
    def constant(self) -> bool:
        return self.fixed is not None

    @property
    def reads(self) -> frozenset[str]:
        return self.source.reads

    def language(self, signals: Signals) -> str:
        """The version a visitor gets: their language, else the fallback, else the first."""
        versions = self.versions
        if len(versions) == 1:
            return next(iter(versions))
        language = signals["page.language"]
        if type(language) is str and language in versions:
            return language
        return self.source.fallback if self.source.fallback in versions else next(iter(versions))

    def render(self, signals: Signals) -> str:
        """The text for this visitor; :class:`NotApplied` when a placeholder's value is unknown."""
        language = self.language(signals)
        if self.fixed is not None:
            return self.fixed[language]
        template: Template = self.versions[language]
        # numbers are written as the version's language writes them; one version for all: as the page's
        written = language or (signals.get("page.language") if template.reads else None)
        try:
            return template.render(signals, escape=self.escape, language=written)
        except Unknown as exc:
            raise NotApplied(f"{exc.signal} is unknown", exc.signal) from None


Errors = list[tuple[tuple[str | int, ...], str]]


def compile_actions(actions: model.Actions, *, fallback: str, languages: tuple[str, ...] = (),
                    catalog: Catalog = BUILT_IN, chat_texts: Mapping[str, ChatTexts] = BUILT_IN_TEXTS,
                    ) -> tuple[ActionSet, Errors]:
    """Compile a rule's ``then``; template errors come back as (path inside ``then``, message).

    ``catalog`` names the signals texts may read; ``chat_texts`` are the words around a chat
    invitation per language (its buttons, its labels).
    """
    compiled: list[SlotAction] = []
    errors: Errors = []

    def text(value: model.Text, path: tuple[str | int, ...], *, literal_is_html: bool = False,
             escape: bool = True) -> Text | None:
        try:
            source = compile_text(value, fallback=fallback, literal_is_html=literal_is_html, languages=languages,
                                  catalog=catalog)
        except ValueError as exc:
            errors.append((path, str(exc)))
            return None
        return Text(source, escape=escape)

    if actions.greeting is not None:
        greeting = text(actions.greeting, ("greeting",))
        if greeting:
            compiled.append(_greeting(greeting))
    for i, prefill in _each(actions.prefill):
        # prefill values are set as form values by the client, never as HTML: no escaping
        fields = {name: text(value, (*_at("prefill", i), "fields", name), escape=False)
                  for name, value in prefill.fields.items()}  # fmt: skip
        if all(fields.values()):
            compiled.append(_prefill(prefill.form, {k: v for k, v in fields.items() if v}))
    if actions.chat is not None:
        chat = actions.chat
        message = text(chat.message, ("chat", "message"))
        offline = text(chat.outside_hours.message, ("chat", "outside_hours", "message")) if chat.outside_hours else None
        if message:
            compiled.append(_chat(chat, message, offline, _ChatWords(chat_texts, fallback)))
    for i, rec in _each(actions.recommend):
        title = text(rec.title, (*_at("recommend", i), "title")) if rec.title is not None else None
        compiled.append(_recommend(rec, title))
    for i, banner in _each(actions.banner):
        body = banner.html if banner.html is not None else banner.text
        assert body is not None
        where = (*_at("banner", i), "html" if banner.html is not None else "text")
        rendered = text(body, where, literal_is_html=banner.html is not None)
        if rendered:
            compiled.append(_banner(banner, rendered))
    tags: tuple[str, ...] = ()
    if actions.tag is not None:
        tags = (actions.tag,) if isinstance(actions.tag, str) else tuple(actions.tag)
    slots = [a.slot for a in compiled]
    for slot in {s for s in slots if slots.count(s) > 1}:
        errors.append(((), f"two actions of this rule fill the same slot '{slot}'"))
    return ActionSet(tuple(compiled), tags), errors


def _each(value: Any) -> list[tuple[int | None, Any]]:
    if value is None:
        return []
    if isinstance(value, list):
        return list(enumerate(value))
    return [(None, value)]


def _at(name: str, index: int | None) -> tuple[str | int, ...]:
    return (name,) if index is None else (name, index)


def _greeting(text: Text) -> SlotAction:
    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        decision.greeting = text.render(signals)

    return SlotAction("greeting", fill, text.reads, text.constant)


def _prefill(form: str, fields: dict[str, Text]) -> SlotAction:
    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        values: dict[str, str] = {}
        missing: list[str] = []
        for name, value in fields.items():
            try:
                values[name] = value.render(signals)
            except NotApplied as exc:
                missing.append(exc.signal or name)
        if not values:
            raise NotApplied(f"{', '.join(missing)} unknown", missing[0] if missing else None)
        decision.prefill[form] = values

    reads = frozenset().union(*(f.reads for f in fields.values()))
    return SlotAction(f"prefill:{form}", fill, reads, all(f.constant for f in fields.values()))


class _ChatWords:
    """The words around an invitation in the language its message was chosen in (a message
    without languages is in the shop's ``default_language``), made once per language and mode."""

    def __init__(self, texts: Mapping[str, ChatTexts], fallback: str) -> None:
        self.texts = texts
        self.fallback = fallback
        self.made: dict[tuple[str, str], dict[str, str]] = {}

    def language(self, message: Text, signals: Signals) -> str:
        return message.language(signals) or self.fallback

    def payload(self, language: str, mode: Mode) -> dict[str, str]:
        found = self.made.get((language, mode))
        if found is None:
            found = self.made[(language, mode)] = texts_for(self.texts, language, self.fallback).payload(mode)
        return found


def _chat(chat: model.Chat, message: Text, offline: Text | None, words: _ChatWords) -> SlotAction:
    reads = set(message.reads | (offline.reads if offline else frozenset()))
    if chat.only_when_open:
        reads.add("time.open")
    if chat.context:
        reads.update(CONTEXT_SIGNALS)

    def invitation(text: Text, signals: Signals, rule: str, mode: Mode,
                   context: dict[str, Any] | None) -> d.Chat:
        language = words.language(text, signals)
        return d.Chat(
            rule=rule,
            message=text.render(signals),
            after_seconds=chat.after_seconds,
            on_exit_intent=chat.on_exit_intent,
            department=chat.department,
            mode=mode,
            offline_action=chat.outside_hours.action if mode == "offline" and chat.outside_hours else None,
            context=context,
            language=language,
            texts=words.payload(language, mode),
        )

    made: dict[tuple[str, str, str], d.Chat] = {}  # the invitations that are the same for everyone

    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        mode: Mode = "online"
        text = message
        if chat.only_when_open and signals["time.open"] is not True:
            if offline is None:
                raise NotApplied("the shop is closed", "time.open", "closed")
            mode, text = "offline", offline
        if text.fixed is None or chat.context:
            card = context_card(signals) if chat.context else None
            decision.chat = invitation(text, signals, rule, mode, card)
            return
        key = (rule, mode, text.language(signals))
        found = made.get(key)
        if found is None:
            found = made[key] = invitation(text, signals, rule, mode, None)
        decision.chat = found

    return SlotAction("chat", fill, frozenset(reads), not chat.only_when_open and message.constant)


def context_card(signals: Signals) -> dict[str, Any]:
    """What a chat agent should know without asking: who, basket, recently viewed, where from."""
    logged_in = signals["user.logged_in"] is True
    card: dict[str, Any] = {
        "name": signals["user.name"] or signals["user.first_name"] if logged_in else None,
        "tier": signals["user.tier"] if logged_in else None,
        "visitor": "returning" if signals["visitor.returning"] else "new",
        "visits": signals["visitor.visits"],
        "basket": None,
        "recently_viewed": (signals["history.viewed_products"] or [])[:5] or None,
        "campaign": signals["campaign.source"],
        "page": signals["page.path"],
    }
    count = signals["basket.count"]
    if count:
        card["basket"] = {"items": count, "total": signals["basket.total"], "currency": signals["basket.currency"]}
    return {key: value for key, value in card.items() if value is not None}


def _recommend(rec: model.Recommend, title: Text | None) -> SlotAction:
    options = {key: value for key, value in (("category", rec.category), ("fallback", rec.fallback)) if value}

    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        decision.recommendations[rec.slot] = d.Recommendation(
            rule=rule, slot=rec.slot, strategy=rec.strategy, limit=rec.limit, exclude=rec.exclusions,
            title=title.render(signals) if title else None, options=dict(options),
        )

    return SlotAction(f"recommend:{rec.slot}", fill, title.reads if title else frozenset(),
                      title is None or title.constant)  # fmt: skip


def _banner(banner: model.Banner, body: Text) -> SlotAction:
    made: dict[tuple[str, str], d.Banner] = {}  # per rule and language: the same for everyone

    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        if body.fixed is None:
            decision.banners[banner.slot] = d.Banner(rule, banner.slot, body.render(signals), banner.link)
            return
        key = (rule, body.language(signals))
        found = made.get(key)
        if found is None:
            found = made[key] = d.Banner(rule, banner.slot, body.fixed[key[1]], banner.link)
        decision.banners[banner.slot] = found

    return SlotAction(f"banner:{banner.slot}", fill, body.reads, body.constant)
