"""Run the ``tests:`` blocks of rule files: given signals → expected slots and matched rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smalldata.decision import Decision, TraceEntry
from smalldata.rules.action_types import BANNER, CHAT, GREETING, PREFILL, RECOMMEND
from smalldata.rules.engine import Engine, StaticCaps
from smalldata.rules.imagine import DEFAULT_VISITOR_ID, Imagined
from smalldata.rules.model import Expect
from smalldata.rules.ruleset import Ruleset, TestCase
from smalldata.signals.config import SignalSettings


@dataclass
class TestResult:
    """One rule test: passed, or the differences found."""

    case: TestCase
    differences: list[str] = field(default_factory=list)
    decision: Decision | None = None

    @property
    def passed(self) -> bool:
        return not self.differences


def run_tests(ruleset: Ruleset, settings: SignalSettings) -> list[TestResult]:
    """Evaluate every test case of ``ruleset``."""
    engine = Engine(ruleset)
    return [run_test(engine, case, settings) for case in ruleset.tests]


def run_test(engine: Engine, case: TestCase, settings: SignalSettings) -> TestResult:
    test = case.test
    at = test.at.replace(tzinfo=settings.zone) if test.at and test.at.tzinfo is None else test.at
    visitor_id = test.visitor_id or str(test.given.get("visitor.id") or DEFAULT_VISITOR_ID)
    signals = Imagined(given=test.given, url=test.url, at=at, visitor_id=visitor_id).signals(settings)
    decision = engine.decide(signals, caps=StaticCaps(test.caps), visitor_id=visitor_id, trace=True)
    return TestResult(case, compare(test.expect, decision), decision)


# the order differences are listed in (the order a test's expectations have always been read)
_CHECK_ORDER = (GREETING, CHAT, BANNER, PREFILL, RECOMMEND)


def compare(expect: Expect, decision: Decision) -> list[str]:
    """Every way ``decision`` differs from ``expect`` (only the fields written are checked)."""
    diffs: list[str] = []

    def check(what: str, wanted: Any, actual: Any) -> None:
        if wanted != actual:
            diffs.append(f"{what}: expected {_show(wanted)}, got {_show(actual)}")

    for kind in _CHECK_ORDER:
        for what, wanted, actual in kind.checks(expect, decision):
            check(what, wanted, actual)
    if expect.tags is not None:
        check("tags", sorted(expect.tags), sorted(decision.tags))
    for key, variant in expect.experiments.items():
        check(f"experiment {key}", variant, decision.experiments.get(key))
    for rule_id in expect.matched or []:
        if rule_id not in decision.matched:
            diffs.append(_not_matched(decision, rule_id))
    for rule_id in expect.not_matched:
        if rule_id in decision.matched:
            diffs.append(f"rule '{rule_id}' should not match but did")
    return diffs


def _not_matched(decision: Decision, rule_id: str) -> str:
    entry = next((e for e in decision.trace or [] if e.rule == rule_id), None)
    if entry is not None and entry.status == "disabled":
        return f"rule '{rule_id}' should match but is disabled (enabled: false)"
    return f"rule '{rule_id}' should match but did not{_why(entry)}"


def _why(entry: TraceEntry | None) -> str:
    if entry is None:
        return ""
    reason = entry.status + (f": {entry.condition}" if entry.condition else "")
    if entry.status == "failed":
        reason += f" (actual: {_show(entry.actual)})"
    elif entry.detail:
        reason += f" ({entry.detail})"
    return f" — {reason}"


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    return repr(value)
