"""The fused conditions (smalldata.rules.fuse) answer exactly as the closure trees they fold."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

import smalldata.rules.fuse as fuse_module
from benchmarks import peers, rulegen
from smalldata.rules import load_ruleset
from smalldata.settings import Settings

ODD_VALUES: list[Any] = [None, "text", 3, 2.5, True, False, [], ["coffee"], {"a": 1}, "DK", "/products/x", -1]


def test_fused_conditions_match_the_closure_trees_on_normal_and_odd_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = rulegen.write_ruleset(tmp_path, 150)
    fused = load_ruleset(folder, Settings())
    monkeypatch.setattr(fuse_module, "fuse", lambda node: None)
    trees = load_ruleset(folder, Settings())
    rng = random.Random(5)
    contexts = peers.contexts(60)
    for context in peers.contexts(60, seed=9):  # provider bugs: any value in any signal
        contexts.append({name: rng.choice(ODD_VALUES) if rng.random() < 0.3 else v for name, v in context.items()})

    for context in contexts:
        signals = peers.FlatSignals(context)
        for one, other in zip(fused.rules, trees.rules, strict=True):
            assert _answer(one.condition.test, signals) == _answer(other.condition.test, signals), one.id


def test_most_generated_conditions_are_fused(tmp_path: Path) -> None:
    ruleset = load_ruleset(rulegen.write_ruleset(tmp_path, 45), Settings())

    fused = [rule for rule in ruleset.rules if rule.condition.test.__code__.co_filename == "<smalldata condition>"]
    assert len(fused) > len(ruleset.rules) / 2


def _answer(test: Any, signals: Any) -> Any:
    try:
        return test(signals)
    except Exception as exc:  # both must fail alike, if at all
        return type(exc).__name__
