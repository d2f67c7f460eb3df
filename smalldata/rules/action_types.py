"""Each kind of action in one place: its ``then:`` key, its compile step, where its value goes in a
decision (its key in the page's JSON, which ``client.js`` reads) and its words for ``try --explain``, rule
tests and the console.

:data:`ACTION_TYPES` is the table :func:`compile_actions`, :mod:`smalldata.rules.explain`,
:mod:`smalldata.rules.testing` and the console read; a new action is one :class:`ActionType` here, its model
in :mod:`smalldata.rules.model` (a field of ``Actions`` named like ``key``), its field on
:class:`smalldata.decision.Decision` with its JSON form in ``to_json``, and its lines in ``client.js``.
``tests/rules/test_action_types.py`` checks that these agree; docs/architecture.md shows a worked example.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smalldata import decision as d
from smalldata.decision import Decision, Slot
from smalldata.rules import model
from smalldata.rules.actions import ActionSet, Errors, NotApplied, SlotAction, Text
from smalldata.rules.chat_texts import BUILT_IN_TEXTS, ChatTexts, Mode, texts_for
from smalldata.rules.templates import compile_text
from smalldata.signals.base import Signals
from smalldata.signals.catalog import BUILT_IN, SignalCatalog

__all__ = ["ACTION_TYPES", "CONTEXT_SIGNALS", "ActionType", "Compiler", "chat_words", "compile_actions",
           "context_card", "texts"]  # fmt: skip

Path = tuple[str | int, ...]
Texts = list[tuple[str, str]]  # (language or "", text), in the order written
Row = tuple[str, str, str]  # a decision's slot, what fills it (HTML-safe) and the rule that filled it
Check = tuple[str, Any, Any]  # what a rule test compares: the slot, the value expected, the value decided
Words = tuple[str, Texts, str]  # an action as written: its slot, its texts, a note

CONTEXT_SIGNALS = (
    "user.logged_in", "user.first_name", "user.name", "user.tier", "visitor.returning", "visitor.visits",
    "basket.count", "basket.total", "basket.currency", "history.viewed_products", "campaign.source",
    "campaign.medium", "page.path",
)  # fmt: skip


class Compiler:
    """What a compile step uses: texts compiled for this shop, errors collected with their place."""

    def __init__(self, fallback: str, languages: tuple[str, ...], catalog: SignalCatalog,
                 chat_texts: Mapping[str, ChatTexts]) -> None:
        self.fallback = fallback
        self.languages = languages
        self.catalog = catalog
        self.chat_texts = chat_texts
        self.errors: Errors = []

    def text(self, value: model.Text, path: Path, *, literal_is_html: bool = False,
             escape: bool = True) -> Text | None:
        """``value`` compiled; None (and an error at ``path``) when it is not a valid text."""
        try:
            source = compile_text(value, fallback=self.fallback, literal_is_html=literal_is_html,
                                  languages=self.languages, catalog=self.catalog)
        except ValueError as exc:
            self.errors.append((path, str(exc)))
            return None
        return Text(source, escape=escape)


@dataclass(frozen=True)
class ActionType:
    """One kind of action.

    ``key`` is its ``then:`` key (a field of :class:`smalldata.rules.model.Actions`; a list of them where
    the model allows one); ``field`` its attribute of :class:`~smalldata.decision.Decision` and its key in
    the page's JSON; ``compile(item, path, compiler)`` makes the :class:`SlotAction` (None after an error);
    ``rows(decision)`` the lines ``try`` prints; ``checks(expect, decision)`` what a rule test compares;
    ``words(item)`` the action as the console shows it before any request.
    """

    key: str
    field: str
    compile: Callable[[Any, Path, Compiler], SlotAction | None]
    rows: Callable[[Decision], Iterable[Row]]
    checks: Callable[[model.Expect, Decision], Iterable[Check]]
    words: Callable[[Any], Words]


def compile_actions(actions: model.Actions, *, fallback: str, languages: tuple[str, ...] = (),
                    catalog: SignalCatalog = BUILT_IN, chat_texts: Mapping[str, ChatTexts] = BUILT_IN_TEXTS,
                    ) -> tuple[ActionSet, Errors]:
    """Compile a rule's ``then``; template errors come back as (path inside ``then``, message).

    ``catalog`` names the signals texts may read; ``chat_texts`` are the words around a chat
    invitation per language (its buttons, its labels).
    """
    compiler = Compiler(fallback, languages, catalog, chat_texts)
    compiled: list[SlotAction] = []
    for kind in _COMPILE_ORDER:
        for index, item in _each(getattr(actions, kind.key)):
            action = kind.compile(item, (kind.key,) if index is None else (kind.key, index), compiler)
            if action is not None:
                compiled.append(action)
    tags: tuple[str, ...] = ()
    if actions.tag is not None:
        tags = (actions.tag,) if isinstance(actions.tag, str) else tuple(actions.tag)
    errors = compiler.errors
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


def each(value: Any) -> list[Any]:
    """The items of a ``then:`` value: none, one, or each of a list."""
    return [item for _, item in _each(value)]


def texts(value: model.Text | None) -> Texts:
    """A text as written: one version, or one per language."""
    if value is None:
        return []
    if isinstance(value, str):
        return [("", value)]
    return list(value.items())


def _unescaped(value: str | None) -> str | None:
    # decisions carry HTML-safe text; merchandisers write expectations as plain text
    return None if value is None else html.unescape(value)


def _greeting(text: Text) -> SlotAction:
    def fill(signals: Signals, decision: d.Decision, rule: str) -> None:
        decision.greeting = text.render(signals)

    return SlotAction(Slot.GREETING, fill, text.reads, text.constant)


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
    return SlotAction(Slot.prefill(form), fill, reads, all(f.constant for f in fields.values()))


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

    return SlotAction(Slot.CHAT, fill, frozenset(reads), not chat.only_when_open and message.constant)


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

    return SlotAction(Slot.recommend(rec.slot), fill, title.reads if title else frozenset(),
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

    return SlotAction(Slot.banner(banner.slot), fill, body.reads, body.constant)


def chat_words(chat: d.Chat) -> str:
    """``after 20s: Questions about our prices? [sales]`` (HTML-safe, like the message)."""
    when = " or ".join(filter(None, [f"after {chat.after_seconds:g}s" if chat.after_seconds is not None else "",
                                     "on exit intent" if chat.on_exit_intent else ""]))
    extra = f" [{chat.department}]" if chat.department else ""
    mode = " (outside opening hours)" if chat.mode == "offline" else ""
    return f"{when}: {chat.message}{extra}{mode}"


def _chat_as_written(chat: model.Chat) -> Words:
    when = " or ".join(filter(None, [f"after {chat.after_seconds:g}s" if chat.after_seconds is not None else "",
                                     "on exit intent" if chat.on_exit_intent else ""]))
    notes = [when]
    if chat.department:
        notes.append(f"[{chat.department}]")
    if chat.only_when_open:
        notes.append("only while the shop is open")
    if chat.outside_hours is not None:
        closed = "; ".join(text for _, text in texts(chat.outside_hours.message))
        notes.append(f"outside opening hours ({chat.outside_hours.action}): {closed}")
    if chat.context:
        notes.append("the agent sees who is asking")
    return Slot.CHAT, texts(chat.message), " · ".join(notes)


def _strategy_words(rec: model.Recommend | d.Recommendation, exclude: Sequence[str]) -> str:
    return f"{rec.strategy} ×{rec.limit}" + (f" excluding {', '.join(exclude)}" if exclude else "")


def _recommend_as_written(rec: model.Recommend) -> Words:
    extra = [f"in category {rec.category}"] if rec.category else []
    extra += [f"then {rec.fallback}"] if rec.fallback else []
    return Slot.recommend(rec.slot), [("", _strategy_words(rec, rec.exclude))], "; ".join(extra)


def _compile_greeting(value: model.Text, path: Path, c: Compiler) -> SlotAction | None:
    text = c.text(value, path)
    return _greeting(text) if text else None


def _compile_prefill(prefill: model.Prefill, path: Path, c: Compiler) -> SlotAction | None:
    # prefill values are set as form values by the client, never as HTML: no escaping
    fields = {name: c.text(value, (*path, "fields", name), escape=False) for name, value in prefill.fields.items()}
    if not all(fields.values()):
        return None
    return _prefill(prefill.form, {k: v for k, v in fields.items() if v})


def _compile_chat(chat: model.Chat, path: Path, c: Compiler) -> SlotAction | None:
    message = c.text(chat.message, (*path, "message"))
    offline = c.text(chat.outside_hours.message, (*path, "outside_hours", "message")) if chat.outside_hours else None
    return _chat(chat, message, offline, _ChatWords(c.chat_texts, c.fallback)) if message else None


def _compile_recommend(rec: model.Recommend, path: Path, c: Compiler) -> SlotAction | None:
    title = c.text(rec.title, (*path, "title")) if rec.title is not None else None
    return _recommend(rec, title)


def _compile_banner(banner: model.Banner, path: Path, c: Compiler) -> SlotAction | None:
    body = banner.html if banner.html is not None else banner.text
    assert body is not None
    rendered = c.text(body, (*path, "html" if banner.html is not None else "text"),
                      literal_is_html=banner.html is not None)
    return _banner(banner, rendered) if rendered else None


GREETING = ActionType(
    "greeting", "greeting", _compile_greeting,
    rows=lambda decision: [(Slot.GREETING, decision.greeting, decision.slot_rules[Slot.GREETING])]
    if decision.greeting is not None else [],
    checks=lambda expect, decision: [(Slot.GREETING, expect.greeting, _unescaped(decision.greeting))]
    if "greeting" in expect.model_fields_set else [],
    words=lambda greeting: (Slot.GREETING, texts(greeting), ""),
)
CHAT = ActionType(
    "chat", "chat", _compile_chat,
    rows=lambda decision: [(Slot.CHAT, chat_words(decision.chat), decision.chat.rule)]
    if decision.chat is not None else [],
    checks=lambda expect, decision: [(Slot.CHAT, expect.chat,
                                      _unescaped(decision.chat.message) if decision.chat else None)]
    if "chat" in expect.model_fields_set else [],
    words=_chat_as_written,
)
PREFILL = ActionType(
    "prefill", "prefill", _compile_prefill,
    rows=lambda decision: [(Slot.prefill(form), ", ".join(f"{k}={v}" for k, v in fields.items()),
                            decision.slot_rules[Slot.prefill(form)]) for form, fields in decision.prefill.items()],
    checks=lambda expect, decision: [(Slot.prefill(form), fields, decision.prefill.get(form))
                                     for form, fields in expect.prefill.items()],
    words=lambda prefill: (Slot.prefill(prefill.form),
                           [("", ", ".join(f"{name}={value}" for name, value in prefill.fields.items()))], ""),
)
RECOMMEND = ActionType(
    "recommend", "recommendations", _compile_recommend,
    rows=lambda decision: [(Slot.recommend(slot), _strategy_words(rec, rec.exclude), rec.rule)
                           for slot, rec in decision.recommendations.items()],
    checks=lambda expect, decision: [(Slot.recommend(slot), strategy, rec.strategy if rec else None)
                                     for slot, strategy in expect.recommendations.items()
                                     for rec in [decision.recommendations.get(slot)]],
    words=_recommend_as_written,
)
BANNER = ActionType(
    "banner", "banners", _compile_banner,
    rows=lambda decision: [(Slot.banner(slot), banner.html, banner.rule) for slot, banner in decision.banners.items()],
    checks=lambda expect, decision: [(Slot.banner(slot), text, _unescaped(banner.html) if banner else None)
                                     for slot, text in expect.banners.items()
                                     for banner in [decision.banners.get(slot)]],
    words=lambda banner: (Slot.banner(banner.slot), texts(banner.text if banner.text is not None else banner.html),
                          f"links to {banner.link}" if banner.link else ""),
)

#: Every kind of action, in the order ``try`` prints a decision (tags, which fill no slot, come after).
ACTION_TYPES: tuple[ActionType, ...] = (GREETING, CHAT, PREFILL, RECOMMEND, BANNER)
# the order a rule's slots are listed in (its trace's "matched: greeting, prefill:checkout, chat")
_COMPILE_ORDER = (GREETING, PREFILL, CHAT, RECOMMEND, BANNER)
