"""Experiments: deterministic sticky bucketing, weights, control group, exposures, forced variants."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from smalldata.signals.base import StaticSignals
from tests.rules.helpers import decide, engine_for, write_rules

EXPERIMENT = """
rules:
  - id: hero-test
    experiment:
      key: hero
      variants:
        - {name: a, weight: 30, then: {banner: {slot: hero, text: A}}}
        - {name: b, weight: 50, then: {banner: {slot: hero, text: B}}}
  - id: default-hero
    priority: -1
    then: {banner: {slot: hero, text: Default}}
"""

ASSIGN = """
import sys
from smalldata.rules import Engine, load_ruleset
from smalldata.signals.base import StaticSignals
engine = Engine(load_ruleset(sys.argv[1]))
print(",".join(engine.decide(StaticSignals(), visitor_id=f"v{i}").experiments["hero"] for i in range(200)))
"""


def test_weights_split_ten_thousand_visitors_within_two_percent(tmp_path: Path) -> None:
    engine = engine_for(write_rules(tmp_path, EXPERIMENT))
    signals = StaticSignals()
    counts = Counter(engine.decide(signals, visitor_id=f"visitor-{i}").experiments["hero"] for i in range(10_000))
    assert abs(counts["a"] / 10_000 - 0.30) < 0.02
    assert abs(counts["b"] / 10_000 - 0.50) < 0.02
    assert abs(counts["control"] / 10_000 - 0.20) < 0.02


def test_assignment_is_the_same_in_another_process(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, EXPERIMENT)
    here = ",".join(decide(rules, {}, visitor_id=f"v{i}").experiments["hero"] for i in range(200))
    env = {"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}
    there = subprocess.run([sys.executable, "-c", ASSIGN, str(rules)], capture_output=True, text=True, check=True,
                           env=env, cwd=Path(__file__).resolve().parents[2]).stdout.strip()
    assert here == there


def test_the_control_group_gets_nothing_from_the_rule_and_the_next_rule_fills_the_slot(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, EXPERIMENT)
    engine = engine_for(rules)
    control = next(f"v{i}" for i in range(1000)
                   if engine.decide(StaticSignals(), visitor_id=f"v{i}").experiments["hero"] == "control")
    decision = decide(rules, {}, visitor_id=control, trace=True)
    assert decision.banners["hero"].html == "Default"
    assert [(e.experiment, e.variant) for e in decision.exposures] == [("hero", "control")]


def test_each_assignment_is_reported_as_an_exposure(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, EXPERIMENT)
    decision = decide(rules, {}, visitor_id="v1")
    assert len(decision.exposures) == 1
    exposure = decision.exposures[0]
    assert (exposure.experiment, exposure.rule, exposure.forced) == ("hero", "hero-test", False)
    assert exposure.variant == decision.experiments["hero"]


def test_a_different_salt_reshuffles_visitors(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "plain", EXPERIMENT)
    salted = write_rules(tmp_path / "salted", EXPERIMENT.replace("key: hero", "key: hero\n      salt: spring"))
    first = [decide(rules, {}, visitor_id=f"v{i}").experiments["hero"] for i in range(100)]
    second = [decide(salted, {}, visitor_id=f"v{i}").experiments["hero"] for i in range(100)]
    assert first != second


def test_without_a_visitor_id_nobody_is_assigned(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, EXPERIMENT)
    decision = decide(rules, {}, visitor_id=None, trace=True)
    assert decision.experiments == {}
    assert decision.exposures == []
    assert (decision.trace or [])[0].status == "not_in_experiment"


def test_a_forced_variant_is_shown_and_marked_forced(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, EXPERIMENT)
    decision = decide(rules, {}, visitor_id="v1", forced={"hero": "b"})
    assert decision.banners["hero"].html == "B"
    assert decision.exposures[0].forced is True


def test_weights_over_one_hundred_are_an_error(tmp_path: Path) -> None:
    from tests.rules.helpers import problems_of

    write_rules(tmp_path, EXPERIMENT.replace("weight: 50", "weight: 80"))
    assert any("add up to 110, more than 100" in p for p in problems_of(tmp_path))
