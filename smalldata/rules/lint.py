"""Warnings for rules that load but cannot do what their author meant.

Errors (rules that can never match, unknown signals, …) are found while
compiling; these are the subtler cases ``smalldata check`` also reports.
"""

from __future__ import annotations

from smalldata.foundation.problems import Problem
from smalldata.rules.conditions import Node, all_of, conjuncts, impossible
from smalldata.rules.ruleset import ActiveWindow, CompiledRule, Ruleset


def lint(ruleset: Ruleset) -> list[Problem]:
    """Every warning for a loaded ruleset."""
    return [*_always_shadowed(ruleset.rules), *_overlapping_experiments(ruleset.rules)]


def _always_shadowed(rules: tuple[CompiledRule, ...]) -> list[Problem]:
    warnings = []
    for index, rule in enumerate(rules):
        if not rule.slots or rule.tags:
            continue
        winners = [_unconditional_winner(slot, rule, rules[:index]) for slot in rule.slots]
        if all(winners):
            names = ", ".join(sorted({w.id for w in winners if w}))
            warnings.append(Problem(
                rule.position,
                f"rule '{rule.id}' is always shadowed by '{names}': a higher-priority rule fills "
                f"{', '.join(rule.slots)} whenever this one matches",
                "warning",
            ))
    return warnings


def _unconditional_winner(slot: str, rule: CompiledRule, earlier: tuple[CompiledRule, ...]) -> CompiledRule | None:
    for other in earlier:
        if other.actions is None or other.cap or other.active or slot not in other.slots:
            continue
        action = next(a for a in other.actions.actions if a.slot == slot)
        if action.constant and _implies(rule.condition, other.condition):
            return other
    return None


def _implies(condition: Node, other: Node) -> bool:
    """True when ``other`` surely holds whenever ``condition`` does (a syntactic check)."""
    if other.label == "always":
        return True
    mine = {part.label for part in conjuncts(condition)}
    return all(part.label in mine for part in conjuncts(other))


def _overlapping_experiments(rules: tuple[CompiledRule, ...]) -> list[Problem]:
    warnings = []
    experiments = [r for r in rules if r.experiment is not None]
    for i, first in enumerate(experiments):
        for second in experiments[i + 1:]:
            assert first.experiment is not None and second.experiment is not None
            if first.experiment.key == second.experiment.key:
                warnings.append(Problem(second.position, f"experiment key '{second.experiment.key}' is also used "
                                        f"by rule '{first.id}': their exposures would be mixed", "warning"))
                continue
            shared = sorted(set(first.slots) & set(second.slots))
            if not shared or _disjoint(first, second):
                continue
            warnings.append(Problem(
                second.position,
                f"experiments '{first.experiment.key}' and '{second.experiment.key}' overlap in "
                f"{', '.join(shared)}: visitors in both see only '{first.id}', which biases '{second.id}'",
                "warning",
            ))
    return warnings


def _disjoint(first: CompiledRule, second: CompiledRule) -> bool:
    if impossible(all_of([first.condition, second.condition])) is not None:
        return True
    return _windows_apart(first.active, second.active)


def _windows_apart(a: ActiveWindow | None, b: ActiveWindow | None) -> bool:
    if a is None or b is None:
        return False
    a_start, b_start = a.start, b.start
    if a.end is not None and b_start is not None and a.end <= b_start:
        return True
    if b.end is not None and a_start is not None and b.end <= a_start:
        return True
    return a.weekdays is not None and b.weekdays is not None and not (a.weekdays & b.weekdays)
