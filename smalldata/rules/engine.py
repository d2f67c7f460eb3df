"""The engine: compiled rules + one request's signals → a complete :class:`Decision`.

It does no I/O. The state it needs (cap counters) comes in; what must change
(cap hits, tags, exposures) goes out in the decision. Rules run in priority
order and each slot goes to the first rule that fills it. Everything that decides
whether a rule's action reaches the page happens here, in one loop: its schedule,
its condition, its frequency cap, a chat invitation the visitor dismissed today,
its experiment arm, and whether its text can be filled in.

The loop is one generated function (:func:`smalldata.rules.codegen.compile_rules`):
every rule's condition inline, in priority order, behind a test of whether any slot
it could fill is still free, so a rule that cannot win is not even evaluated. Asked
for a trace, the same function reports every rule it did not apply, and the trace
says for each why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from smalldata.decision import Decision, Exposure, Slot, TraceEntry, TraceStatus
from smalldata.rules.actions import ActionSet, NotApplied
from smalldata.rules.codegen import Run, compile_rules
from smalldata.rules.experiments import CONTROL
from smalldata.rules.ruleset import CompiledRule, Ruleset
from smalldata.signals.base import Signals

#: The cap counter of a chat invitation the visitor dismissed: it stays away for the rest of the day.
DISMISSED_PREFIX = "dismissed:"


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

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self._rules = ruleset.rules
        self._needs_now = any(rule.active is not None for rule in ruleset.rules)
        self._run = compile_rules(ruleset.rules)
        self._traced: Run | None = None  # the same loop reporting every rule it skips: written when first asked

    def decide(
        self,
        signals: Signals,
        *,
        caps: CapCounts | None = None,
        visitor_id: str | None = None,
        trace: bool = False,
        forced: Mapping[str, str] | None = None,
    ) -> Decision:
        """Evaluate the rules for one request.

        ``caps`` are the visitor's cap counters (None: no state, caps are not
        counted); ``forced`` maps experiment keys to variant names (previews), whose
        exposures are marked ``forced`` so reports leave them out. With ``trace``,
        the decision's ``trace`` says for every rule why it did or did not apply.
        """
        decision = Decision(ruleset_version=self.ruleset.version)
        now: datetime | None = signals["time.now"] if self._needs_now else None
        if not trace:
            hits = _Hits(self._rules, signals, decision, caps, visitor_id, forced, None)
            self._run(signals, decision.slot_rules, hits.hit, None, now)
            return decision
        tracer = _Tracer(self._rules, signals, decision, now)
        hits = _Hits(self._rules, signals, decision, caps, visitor_id, forced, tracer)
        if self._traced is None:
            self._traced = compile_rules(self._rules, trace=True)
        self._traced(signals, decision.slot_rules, hits.hit, tracer.skipped, now)
        decision.trace = self._with_disabled(tracer.entries)
        return decision

    def _with_disabled(self, entries: list[TraceEntry]) -> list[TraceEntry]:
        """The trace with the disabled rules in their places (priority, then file order)."""
        disabled = self.ruleset.disabled
        if not disabled:
            return entries
        order = {rule.id: (-rule.priority, rule.order) for rule in (*self._rules, *disabled)}
        entries = [*entries, *(TraceEntry(rule.id, "disabled", "enabled: false") for rule in disabled)]
        return sorted(entries, key=lambda entry: order[entry.rule])


class _Hits:
    """What happens to a rule whose condition holds (and that is active): its cap, experiment arm and actions."""

    __slots__ = ("caps", "decision", "forced", "rules", "signals", "tracer", "visitor_id")

    def __init__(self, rules: tuple[CompiledRule, ...], signals: Signals, decision: Decision, caps: CapCounts | None,
                 visitor_id: str | None, forced: Mapping[str, str] | None, tracer: _Tracer | None) -> None:
        self.rules = rules
        self.signals = signals
        self.decision = decision
        self.caps = caps
        self.visitor_id = visitor_id
        self.forced = forced
        self.tracer = tracer

    def hit(self, position: int) -> None:
        rule = self.rules[position]
        actions = rule.actions if rule.cap is None and rule.experiment is None else self._gate(rule)
        if actions is None:
            return
        signals, decision, tracer = self.signals, self.decision, self.tracer
        taken = decision.slot_rules
        rule_id = rule.id
        filled = False
        shadowed: list[str] = []
        refused: NotApplied | None = None
        for action in actions.actions:
            slot = action.slot
            if slot in taken:
                shadowed.append(slot)
                continue
            try:
                if slot == Slot.CHAT and self.caps is not None and self.caps.count(DISMISSED_PREFIX + rule_id, "day"):
                    raise NotApplied("the visitor dismissed this invitation today", status="capped")
                action.fill(signals, decision, rule_id)
            except NotApplied as exc:
                refused = refused or exc
                continue
            taken[slot] = rule_id
            filled = True
        if actions.tags:
            tags = decision.tags
            for tag in actions.tags:
                if tag not in tags:
                    tags.append(tag)
        if filled or actions.tags:
            decision.matched.append(rule_id)
            if rule.cap is not None:
                decision.cap_hits.append(rule_id)
        if tracer is not None:
            slots = [action.slot for action in actions.actions if taken.get(action.slot) == rule_id]
            tracer.applied(rule, slots, shadowed, refused, bool(actions.tags))

    def _gate(self, rule: CompiledRule) -> ActionSet | None:
        """The actions of a capped or experimenting rule, or None when its cap or experiment keeps them out."""
        tracer = self.tracer
        cap = rule.cap
        if cap is not None and self.caps is not None and self.caps.count(rule.id, cap.per) >= cap.max:
            if tracer is not None:
                tracer.add(rule, "capped", f"already shown {cap.max}× this {cap.per}")
            return None
        if rule.experiment is None:
            return rule.actions
        actions = self._assign(rule)
        if actions is None and tracer is not None:
            reason = "no visitor id (no storage consent)" if self.visitor_id is None else "in the control group"
            tracer.add(rule, "not_in_experiment", reason)
        return actions

    def _assign(self, rule: CompiledRule) -> ActionSet | None:
        experiment = rule.experiment
        assert experiment is not None
        decision = self.decision
        forced_name = (self.forced or {}).get(experiment.key)
        if forced_name is not None:
            arm = experiment.arm(forced_name)
        elif self.visitor_id is None:
            return None
        else:
            arm = experiment.assign(self.visitor_id)
        variant = arm.name if arm else CONTROL
        decision.experiments[experiment.key] = variant
        decision.exposures.append(Exposure(experiment.key, variant, rule.id, forced=forced_name is not None))
        return arm.actions if arm else None


class _Tracer:
    """Collects one trace entry per rule, in rule order, saying why it did or did not apply."""

    def __init__(self, rules: tuple[CompiledRule, ...], signals: Signals, decision: Decision,
                 now: datetime | None) -> None:
        self.rules = rules
        self.signals = signals
        self.decision = decision
        self.now = now
        self.entries: list[TraceEntry] = []

    def add(self, rule: CompiledRule, status: TraceStatus, detail: str = "", *, by: str | None = None,
            slots: list[str] | None = None, condition: str | None = None, actual: object = None) -> None:
        self.entries.append(TraceEntry(rule.id, status, detail, condition, actual, by, slots or []))

    def skipped(self, position: int) -> None:
        """A rule that was not applied: inactive, its condition failed, or every slot it fills was taken."""
        rule = self.rules[position]
        active = rule.active
        if active is not None and (self.now is None or not active.contains(self.now)):
            self.add(rule, "inactive", f"runs {active.describe()}")
            return
        failure = rule.condition.explain(self.signals)
        if failure is not None:
            self.add(rule, "failed", "condition not met", condition=failure.condition, actual=failure.actual)
            return
        by = self.decision.slot_rules[rule.slots[0]]
        self.add(rule, "shadowed", f"its slots are taken by '{by}'", by=by)

    def applied(self, rule: CompiledRule, filled: list[str], shadowed: list[str], refused: NotApplied | None,
                tagged: bool) -> None:
        if filled or tagged:
            notes = [f"shadowed in {', '.join(shadowed)}"] if shadowed else []
            if refused is not None:
                notes.append(f"skipped an action: {refused.reason}")
            self.add(rule, "matched", "; ".join(notes), slots=filled)
        elif refused is not None:
            self.add(rule, refused.status, refused.reason, condition=refused.signal)
        else:
            by = self.decision.slot_rules[shadowed[0]] if shadowed else None
            self.add(rule, "shadowed", f"its slots are taken by '{by}'", by=by)
