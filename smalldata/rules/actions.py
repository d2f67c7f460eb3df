"""Actions compiled once: each fills one slot of a decision, or says why it cannot.

Slots are ``greeting``, ``chat``, ``prefill:<form>``, ``recommend:<slot>`` and
``banner:<slot>``; tags are not slots and always apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smalldata import decision as d
from smalldata.rules import model
from smalldata.rules.templates import LangText, Unknown, compile_text
from smalldata.signals.base import Signals

Fill = Callable[[Signals, d.Decision, str], None]

CONTEXT_SIGNALS = (
    "user.logged_in", "user.first_name", "user.name", "user.tier", "visitor.returning", "visitor.visits",
    "basket.count", "basket.total", "basket.currency", "history.viewed_products", "campaign.source",
    "campaign.medium", "page.path",
)


class NotApplied(Exception):
    """An action that matched but cannot be shown now (an unknown value, the shop is closed)."""

    def __init__(self, reason: str, signal: str | None = None) -> None:
        self.reason = reason
        self.signal = signal
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


def _render(text: LangText, signals: Signals, *, escape: bool = True) -> str:
    try:
        return text.render(signals, escape=escape)
    except Unknown as exc:
        raise NotApplied(f"{exc.signal} is unknown", exc.signal) from None


def _constant(*texts: LangText | None) -> bool:
    """No placeholders: the text can never be unknown."""
    return all(t is None or all(isinstance(p, str) for v in t.versions.values() for p in v.parts) for t in texts)


Errors = list[tuple[tuple[str | int, ...], str]]


def compile_actions(actions: model.Actions, *, fallback: str, languages: tuple[str, ...] = ()) -> tuple[
        ActionSet, Errors]:
    """Compile a rule's ``then``; template errors come back as (path inside ``then``, message)."""
    compiled: list[SlotAction] = []
    errors: Errors = []

    def text(value: model.Text, path: tuple[str | int, ...], *, literal_is_html: bool = False) -> LangText | None:
        try:
            return compile_text(value, fallback=fallback, literal_is_html=literal_is_html, languages=languages)
        except ValueError as exc:
            errors.append((path, str(exc)))
            return None

    if actions.greeting is not None:
        greeting = text(actions.greeting, ("greeting",))
        if greeting:
            compiled.append(_greeting(greeting))
    for i, prefill in _each(actions.prefill):
        fields = {name: text(value, (*_at("prefill", i), "fields", name)) for name, value in prefill.fields.items()}
        if all(fields.values()):
            compiled.append(_prefill(prefill.form, {k: v for k, v in fields.items() if v}))
    if actions.chat is not None:
        chat = actions.chat
        message = text(chat.message, ("chat", "message"))
        offline = text(chat.outside_hours.message, ("chat", "outside_hours", "message")) if chat.outside_hours else None
        if message:
            compiled.append(_chat(chat, message, offline))
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


def _greeting(text: LangText) -> SlotAction:
    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        decision.greeting = _render(text, signals)

    return SlotAction("greeting", fill, text.reads, _constant(text))


def _prefill(form: str, fields: dict[str, LangText]) -> SlotAction:
    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        values: dict[str, str] = {}
        missing: list[str] = []
        for name, value in fields.items():
            try:
                # prefill values are set as form values by the client, never as HTML: no escaping
                values[name] = value.render(signals, escape=False)
            except Unknown as exc:
                missing.append(exc.signal)
        if not values:
            raise NotApplied(f"{', '.join(missing)} unknown", missing[0] if missing else None)
        decision.prefill[form] = values

    reads = frozenset().union(*(f.reads for f in fields.values()))
    return SlotAction(f"prefill:{form}", fill, reads, _constant(*fields.values()))


def _chat(chat: model.Chat, message: LangText, offline: LangText | None) -> SlotAction:
    reads = set(message.reads | (offline.reads if offline else frozenset()))
    if chat.only_when_open:
        reads.add("time.open")
    if chat.context:
        reads.update(CONTEXT_SIGNALS)

    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        mode: str = "online"
        text = message
        if chat.only_when_open and signals.get("time.open") is not True:
            if offline is None:
                raise NotApplied("the shop is closed", "time.open")
            mode, text = "offline", offline
        decision.chat = d.Chat(
            rule=rule,
            message=_render(text, signals),
            after_seconds=chat.after_seconds,
            on_exit_intent=chat.on_exit_intent,
            department=chat.department,
            mode="offline" if mode == "offline" else "online",
            offline_action=chat.outside_hours.action if mode == "offline" and chat.outside_hours else None,
            context=context_card(signals) if chat.context else None,
        )

    return SlotAction("chat", fill, frozenset(reads), not chat.only_when_open and _constant(message))


def context_card(signals: Signals) -> dict[str, Any]:
    """What a chat agent should know without asking: who, basket, recently viewed, where from."""
    logged_in = signals.get("user.logged_in") is True
    card: dict[str, Any] = {
        "name": signals.get("user.name") or signals.get("user.first_name") if logged_in else None,
        "tier": signals.get("user.tier") if logged_in else None,
        "visitor": "returning" if signals.get("visitor.returning") else "new",
        "visits": signals.get("visitor.visits"),
        "basket": None,
        "recently_viewed": (signals.get("history.viewed_products") or [])[:5] or None,
        "campaign": signals.get("campaign.source"),
        "page": signals.get("page.path"),
    }
    count = signals.get("basket.count")
    if count:
        card["basket"] = {"items": count, "total": signals.get("basket.total"),
                          "currency": signals.get("basket.currency")}
    return {key: value for key, value in card.items() if value is not None}


def _recommend(rec: model.Recommend, title: LangText | None) -> SlotAction:
    options = {key: value for key, value in (("category", rec.category), ("fallback", rec.fallback)) if value}

    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        decision.recommendations[rec.slot] = d.Recommendation(
            rule=rule, slot=rec.slot, strategy=rec.strategy, limit=rec.limit, exclude=list(rec.exclude),
            title=_render(title, signals) if title else None, options=dict(options),
        )

    return SlotAction(f"recommend:{rec.slot}", fill, title.reads if title else frozenset(), _constant(title))


def _banner(banner: model.Banner, body: LangText) -> SlotAction:
    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        decision.banners[banner.slot] = d.Banner(rule=rule, slot=banner.slot, html=_render(body, signals),
                                                 link=banner.link)

    return SlotAction(f"banner:{banner.slot}", fill, body.reads, _constant(body))

