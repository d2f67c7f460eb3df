"""A whole ruleset as one generated function: the engine's loop.

Every rule's condition is written inline (by :class:`~smalldata.rules.conditions.ConditionWriter`),
in priority order, behind the rule index's bit test and a test of whether any slot the
rule could fill is still free, so a rule that cannot win is not even evaluated. No
text from a rule file reaches the source: names, literals and predicates are
constants ``c0``, ``c1``, ... of the namespace the code runs in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from smalldata.rules.conditions import ConditionWriter, reporter
from smalldata.rules.index import RuleIndex

if TYPE_CHECKING:
    from smalldata.rules.ruleset import CompiledRule

logger = logging.getLogger("smalldata.rules")

Run = Callable[[Any, dict[str, str], Callable[[int], None], Callable[[int], None] | None, Any], None]
"""A ruleset's evaluation: ``run(signals, taken, hit, skipped, now)`` (see :func:`compile_rules`)."""


def compile_rules(rules: Sequence[CompiledRule], *, trace: bool = False) -> Run:
    """A whole ruleset as one function ``run(signals, taken, hit, skipped, now)``.

    Rules are tested in order (priority, then file order). A rule the rule index
    rules out (see :mod:`smalldata.rules.index`) is not evaluated at all, nor is one
    whose every slot is already in ``taken`` (unless it adds tags, which always
    apply); one that is active at ``now`` and whose condition holds is handed to
    ``hit(position)``, which fills ``taken``. With ``trace``, every rule that does
    not reach ``hit`` is handed to ``skipped(position)``, in order, so a trace can
    explain every rule; without, ``skipped`` is never called (the page's own loop
    pays nothing for traces).
    """
    writer = ConditionWriter()
    index = RuleIndex.build(rules)
    lines = ["def run(s, taken, hit, skipped, now):"]
    seen: set[int] = set()
    otherwise = ["else:", "    skipped({position})"] if trace else []
    for position, rule in enumerate(rules):
        lines.append(f"    # {position}: {_comment(rule.id)}")
        guards = []
        key = index.keys[position]
        if key is not None:  # the index's bit first: one integer test rules out most rules
            number, bit = key
            if number not in seen:  # the group's key is read once, where its first rule is reached
                seen.add(number)
                group = index.groups[number]
                key_value = f"s[{writer.constant(group.signal)}]"
                if group.items:
                    lines.append(f"    m{number} = {writer.constant(group.kept)}({key_value})")
                else:  # Group.kept, inline: a value that cannot be looked up leaves every rule to its own test
                    by_value, everyone = writer.constant(group.by_value), writer.constant(group.everyone)
                    lines.append(f"    m{number} = ({by_value}.get(k, 0) if type(k := {key_value}) in SCALARS else "
                                 f"0 if k is None else {everyone})")
            guards.append(f"m{number} & {bit}")
        free = sorted(set(rule.slots)) if rule.slots and not rule.tags else []
        if free:
            guards.append(" or ".join(f"{writer.constant(slot)} not in taken" for slot in free))
        test = writer.expression(rule.condition)
        if rule.active is not None:
            test = f"now is not None and {writer.constant(rule.active.contains)}(now) and {test}"
        # a condition that cannot be read (a value no operator foresaw) does not hold: that rule is left out
        body = ["try:", f"    holds = {test}", "except Exception:", f"    holds = failed({position})", "if holds:",
                f"    hit({position})", *(line.format(position=position) for line in otherwise)]  # fmt: skip
        if guards:
            body = [f"if {' and '.join(f'({guard})' for guard in guards)}:", *("    " + line for line in body),
                    *(line.format(position=position) for line in otherwise)]  # fmt: skip
        lines += ["    " + line for line in body]
    lines.append("    return None")
    name = "<smalldata rules, traced>" if trace else "<smalldata rules>"
    run: Run = writer.build("\n".join(lines), name, reporter([rule.id for rule in rules]))["run"]
    return run


def _comment(rule_id: str) -> str:
    return "".join(c for c in rule_id if c.isalnum() or c in "-_.")  # ids are plain words; nothing else reaches code
