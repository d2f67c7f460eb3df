"""The engine: compiled rules + one request's signals → a :class:`Decision`.

It does no I/O. The state it needs (cap counters) comes in; what must change
(cap hits, tags, exposures) goes out in the decision. Rules run in priority
order and each slot goes to the first rule that fills it; a rule whose slots
are all taken is not even evaluated, which keeps large rulesets cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from smalldata.decision import Decision, Exposure, TraceEntry, TraceStatus
from smalldata.rules.actions import ActionSet, NotApplied
from smalldata.rules.experiments import CONTROL
from smalldata.rules.index import RuleIndex
from smalldata.rules.ruleset import CompiledRule, Ruleset
from smalldata.settings import Settings
from smalldata.signals.base import Signals


class CapCounts(Protocol):
    """How often a visitor has had a rule's actions, per period."""

    def count(self, rule_id: str, per: str) -> int: ...


class StaticCaps:
    """Cap counts given up front (``smalldata try``, rule tests): the same count for every period."""

    def __init__(self, counts: Mapping[str, int] | None = None) -> None:
        self.counts = dict(counts or {})

    def count(self, rule_id: str, per: str) -> int:
        return self.counts.get(rule_id, 0)


class Engine:
    """Evaluates a ruleset. Cheap to build; swap it atomically when rules are reloaded."""

    def __init__(self, ruleset: Ruleset, settings: Settings | None = None) -> None:
        self.ruleset = ruleset
        self.settings = settings or Settings()
        self._rules = ruleset.rules
        self._needs_now = any(rule.active is not None for rule in ruleset.rules)
        self._index = RuleIndex.build(ruleset.rules)
        # What the quiet loop looks at, unpacked once: attribute lookups cost more than the checks.
        # Slots are given only for a rule that can fill several: a rule with one slot leaves the live
        # mask when it is taken (RuleIndex.by_slot), and a rule that adds tags runs whatever is taken.
        self._quiet = tuple(
            (rule.slots if len(set(rule.slots)) > 1 and not rule.tags else None, rule.active, rule.condition.test,
             rule, key, 1 << position)
            for position, (rule, key) in enumerate(zip(ruleset.rules, self._index.keys, strict=True))
        )  # fmt: skip

    def decide(
        self,
        signals: Signals,
        *,
        caps: CapCounts | None = None,
        visitor_id: str | None = None,
        trace: bool = False,
        forced: Mapping[str, str] | None = None,
    ) -> Decision:
        """Evaluate every rule for one request.

        ``forced`` maps experiment keys to variant names (previews); such
        exposures are marked ``forced`` so reports leave them out.
        """
        decision = Decision(ruleset_version=self.ruleset.version)
        entries: list[TraceEntry] | None = [] if trace else None
        taken = decision.slot_rules
        now = signals.get("time.now") if self._needs_now else None
        if entries is None:
            self._decide_quietly(signals, decision, now, caps, visitor_id, forced)
            return decision
        for rule in self._rules:
            status, detail = self._evaluate(rule, signals, decision, taken, now, caps, visitor_id, forced, trace)
            entries.append(detail if detail is not None else TraceEntry(rule.id, status))
        decision.trace = entries
        return decision

    def _decide_quietly(self, signals: Signals, decision: Decision, now: datetime | None, caps: CapCounts | None,
                        visitor_id: str | None, forced: Mapping[str, str] | None) -> None:
        """:meth:`decide` without a trace: only the rules that could still win are even looked at.

        The live rules are a bit mask (see :mod:`smalldata.rules.index`): a rule
        drops out when the signal its group is keyed on has another value, or
        when every slot it could fill is taken, and the loop jumps from one live
        rule to the next. A live rule is then checked as before: slots, schedule,
        condition.
        """
        taken = decision.slot_rules
        quiet, groups, by_slot = self._quiet, self._index.groups, self._index.by_slot
        alive = self._index.everything
        read: set[str] = set()  # the groups whose key was read for this request
        position = 0
        while rest := alive >> position:
            position += (rest & -rest).bit_length() - 1  # the next live rule
            slots, active, test, rule, key, bit = quiet[position]
            position += 1
            if key is not None and key not in read:
                read.add(key)
                group = groups[key]
                alive &= ~group.rules | group.kept(signals.get(key))
                if not alive & bit:
                    continue
            if slots is not None:
                for slot in slots:
                    if slot not in taken:
                        break
                else:
                    continue  # every slot it could fill is taken: it cannot win
            if active is not None and (now is None or not active.contains(now)):
                continue
            if test(signals):
                filled = len(taken)
                self._matched(rule, signals, decision, taken, caps, visitor_id, forced, False)
                for slot in list(taken)[filled:]:  # rules that could only fill these are out
                    alive &= ~by_slot.get(slot, 0)

    def _evaluate(
        self,
        rule: CompiledRule,
        signals: Signals,
        decision: Decision,
        taken: dict[str, str],
        now: datetime | None,
        caps: CapCounts | None,
        visitor_id: str | None,
        forced: Mapping[str, str] | None,
        trace: bool,
    ) -> tuple[TraceStatus, TraceEntry | None]:
        slots = rule.slots
        if slots and not rule.tags and all(slot in taken for slot in slots):
            # the fast path never evaluates a rule that could not win; a trace says whether it would have matched
            if not trace:
                return "shadowed", None
            failed = self._failure(rule, signals, now)
            if failed:
                return "failed", failed
            by = taken[slots[0]]
            return "shadowed", _entry(trace, rule, "shadowed", f"its slots are taken by '{by}'", by=by)
        active = rule.active
        if active is not None and (now is None or not active.contains(now)):
            # the words of a trace are only built when someone reads them
            return "inactive", _entry(trace, rule, "inactive", f"runs {active.describe()}") if trace else None
        if not rule.condition.test(signals):
            return "failed", self._failure(rule, signals, now) if trace else None
        return self._matched(rule, signals, decision, taken, caps, visitor_id, forced, trace)

    def _matched(
        self,
        rule: CompiledRule,
        signals: Signals,
        decision: Decision,
        taken: dict[str, str],
        caps: CapCounts | None,
        visitor_id: str | None,
        forced: Mapping[str, str] | None,
        trace: bool,
    ) -> tuple[TraceStatus, TraceEntry | None]:
        """A rule whose condition holds (and that is active and not shadowed): caps, experiment, actions."""
        cap = rule.cap
        if cap is not None and caps is not None and caps.count(rule.id, cap.per) >= cap.max:
            detail = f"already shown {cap.max}× this {cap.per}" if trace else ""
            return "capped", _entry(trace, rule, "capped", detail)
        actions = rule.actions
        if rule.experiment is not None:
            chosen = self._assign(rule, visitor_id, forced, decision)
            if chosen is None:
                return "not_in_experiment", _entry(
                    trace, rule, "not_in_experiment",
                    "no visitor id (no storage consent)" if visitor_id is None else "in the control group")
            actions = chosen
        assert actions is not None
        return self._apply(rule, actions, signals, decision, taken, trace)

    @staticmethod
    def _failure(rule: CompiledRule, signals: Signals, now: datetime | None) -> TraceEntry | None:
        """A trace entry saying which condition failed, or ``None`` when the rule would match."""
        if rule.active is not None and (now is None or not rule.active.contains(now)):
            return TraceEntry(rule.id, "inactive", f"runs {rule.active.describe()}")
        failure = rule.condition.explain(signals)
        if failure is None:
            return None
        return TraceEntry(rule.id, "failed", "condition not met", failure.condition, failure.actual)

    def _assign(self, rule: CompiledRule, visitor_id: str | None, forced: Mapping[str, str] | None,
                decision: Decision) -> ActionSet | None:
        experiment = rule.experiment
        assert experiment is not None
        forced_name = (forced or {}).get(experiment.key)
        if forced_name is not None:
            arm = experiment.arm(forced_name)
        elif visitor_id is None:
            return None
        else:
            arm = experiment.assign(visitor_id)
        variant = arm.name if arm else CONTROL
        decision.experiments[experiment.key] = variant
        decision.exposures.append(Exposure(experiment.key, variant, rule.id, forced=forced_name is not None))
        return arm.actions if arm else None

    def _apply(self, rule: CompiledRule, actions: ActionSet, signals: Signals, decision: Decision,
               taken: dict[str, str], trace: bool) -> tuple[TraceStatus, TraceEntry | None]:
        filled: list[str] = []
        shadowed: list[str] = []
        refused: NotApplied | None = None
        for action in actions.actions:
            if action.slot in taken:
                shadowed.append(action.slot)
                continue
            try:
                action.fill(signals, decision, rule.id)
            except NotApplied as exc:
                refused = refused or exc
                continue
            taken[action.slot] = rule.id
            filled.append(action.slot)
        for tag in actions.tags:
            if tag not in decision.tags:
                decision.tags.append(tag)
        if filled or actions.tags:
            decision.matched.append(rule.id)
            if rule.cap is not None:
                decision.cap_hits.append(rule.id)
            if not trace:
                return "matched", None
            notes = [f"shadowed in {', '.join(shadowed)}"] if shadowed else []
            if refused is not None:
                notes.append(f"skipped an action: {refused.reason}")
            return "matched", _entry(trace, rule, "matched", "; ".join(notes), slots=filled)
        if refused is not None:
            status: TraceStatus = "closed" if refused.signal == "time.open" else "unknown_value"
            return status, _entry(trace, rule, status, refused.reason, condition=refused.signal)
        if not trace:
            return "shadowed", None
        by = taken[shadowed[0]] if shadowed else None
        return "shadowed", _entry(trace, rule, "shadowed", f"its slots are taken by '{by}'", by=by)


def _entry(trace: bool, rule: CompiledRule, status: TraceStatus, detail: str = "", *,
           by: str | None = None, slots: list[str] | None = None, condition: str | None = None) -> TraceEntry | None:
    if not trace:
        return None
    return TraceEntry(rule.id, status, detail, condition=condition, by=by, slots=slots or [])
