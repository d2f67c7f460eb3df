"""A rule in plain words for the rules overview: the words ``smalldata try --explain`` uses.

The condition is the compiled condition's own label (``page.path starts with
'/pricing'``), the words a trace prints when it fails; actions read like the
decision lines of ``try`` (``after 20s: … [sales]``, ``new_arrivals ×4``); the
schedule is the one a trace prints for an inactive rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from smalldata.problems import Problem
from smalldata.rules import CompiledRule, Ruleset, model

T = TypeVar("T")
Texts = list[tuple[str, str]]  # (language or "", text), in the order written


@dataclass(frozen=True)
class ActionWords:
    """One action: the slot it fills and what it puts there (a text per language where it has several)."""

    slot: str
    texts: Texts
    note: str = ""


@dataclass(frozen=True)
class VariantWords:
    """One arm of an experiment: its name, its share of visitors and its actions."""

    name: str
    weight: float
    actions: list[ActionWords]


@dataclass
class RuleWords:
    """Everything the overview shows about one rule."""

    id: str
    description: str
    file: str  # the name within the rules folder
    line: int
    priority: int
    enabled: bool
    condition: str  # "" for a rule without ``when``: it applies to every visitor
    actions: list[ActionWords]
    slots: tuple[str, ...]
    cap: str = ""
    schedule: str = ""
    experiment: str = ""
    control: float = 0.0  # the share of visitors an experiment leaves without its actions
    variants: list[VariantWords] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def texts(value: model.Text | None) -> Texts:
    """A text as written: one version, or one per language."""
    if value is None:
        return []
    if isinstance(value, str):
        return [("", value)]
    return list(value.items())


def action_words(then: model.Actions | None) -> list[ActionWords]:
    """Every action of a rule's (or a variant's) ``then``, in the order ``try`` prints a decision."""
    if then is None:
        return []
    words: list[ActionWords] = []
    if then.greeting is not None:
        words.append(ActionWords("greeting", texts(then.greeting)))
    if then.chat is not None:
        words.append(_chat(then.chat))
    for prefill in _each(then.prefill):
        fields = ", ".join(f"{name}={value}" for name, value in prefill.fields.items())
        words.append(ActionWords(f"prefill:{prefill.form}", [("", fields)]))
    for rec in _each(then.recommend):
        text = f"{rec.strategy} ×{rec.limit}" + (f" excluding {', '.join(rec.exclude)}" if rec.exclude else "")
        extra = [f"in category {rec.category}"] if rec.category else []
        extra += [f"then {rec.fallback}"] if rec.fallback else []
        words.append(ActionWords(f"recommend:{rec.slot}", [("", text)], "; ".join(extra)))
    for banner in _each(then.banner):
        words.append(ActionWords(f"banner:{banner.slot}", texts(banner.text if banner.text is not None else
                                                                 banner.html),
                                 f"links to {banner.link}" if banner.link else ""))
    if then.tag is not None:
        tags = [then.tag] if isinstance(then.tag, str) else then.tag
        words.append(ActionWords("tags", [("", ", ".join(tags))]))
    return words


def _chat(chat: model.Chat) -> ActionWords:
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
    return ActionWords("chat", texts(chat.message), " · ".join(notes))


def _each(value: T | list[T] | None) -> list[T]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def rule_words(rule: CompiledRule, file: str, *, enabled: bool = True) -> RuleWords:
    """What the overview says about ``rule`` (``file`` is its name within the rules folder)."""
    source = rule.source
    words = RuleWords(
        id=rule.id, description=rule.description, file=file, line=rule.position.line, priority=rule.priority,
        enabled=enabled, condition="" if rule.condition.label == "always" else rule.condition.label,
        actions=action_words(source.then), slots=rule.slots,
    )  # fmt: skip
    if rule.cap is not None:
        words.cap = f"at most {rule.cap.max}× per {rule.cap.per}"
    if rule.active is not None:
        words.schedule = f"runs {rule.active.describe()}"
    if source.experiment is not None:
        words.experiment = source.experiment.key
        words.variants = [VariantWords(v.name, v.weight, action_words(v.then)) for v in source.experiment.variants]
        words.control = max(0.0, 100 - sum(v.weight for v in source.experiment.variants))
    return words


def all_rule_words(ruleset: Ruleset, name_of: dict[str, str],
                   warnings: Iterable[Problem]) -> tuple[list[RuleWords], list[Problem]]:
    """Every rule of ``ruleset`` in file order, disabled ones too, each with the warnings at its line,
    and the warnings at no rule's line.

    ``name_of`` maps a position's file to its name within the folder.
    """
    rules = [(rule, True) for rule in ruleset.rules] + [(rule, False) for rule in ruleset.disabled]
    rules.sort(key=lambda pair: (pair[0].position.file, pair[0].position.line))
    found = [rule_words(rule, name_of.get(rule.position.file, rule.position.file), enabled=on) for rule, on in rules]
    at = {(rule.position.file, rule.position.line): words for (rule, _), words in zip(rules, found, strict=True)}
    elsewhere = []
    for problem in warnings:
        owner = at.get((problem.position.file, problem.position.line))
        if owner is not None:
            owner.problems.append(problem)
        else:
            elsewhere.append(problem)
    return found, elsewhere
