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

from smalldata.foundation.problems import Problem
from smalldata.rules import CompiledRule, Ruleset, model
from smalldata.rules.action_types import ACTION_TYPES, each

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


def action_words(then: model.Actions | None) -> list[ActionWords]:
    """Every action of a rule's (or a variant's) ``then``, in the order ``try`` prints a decision
    (each kind's words are its entry of :data:`smalldata.rules.action_types.ACTION_TYPES`)."""
    if then is None:
        return []
    words = [ActionWords(*kind.words(item)) for kind in ACTION_TYPES for item in each(getattr(then, kind.key))]
    if then.tag is not None:
        tags = [then.tag] if isinstance(then.tag, str) else then.tag
        words.append(ActionWords("tags", [("", ", ".join(tags))]))
    return words


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
