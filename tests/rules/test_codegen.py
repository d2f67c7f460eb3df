"""Generated conditions answer exactly as the condition tree says, on normal values and on any odd value."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from smalldata.rules import load_ruleset
from smalldata.settings import Settings
from smalldata.signals.base import StaticSignals
from smalldata.tools.bench import peers, rulegen
from tests.rules.helpers import holds, interpret

ODD_VALUES: list[Any] = [None, "text", 3, 2.5, True, False, [], ["coffee"], {"a": 1}, "DK", "/products/x", -1,
                         [["nested"]], {"x"}, object()]  # fmt: skip


def test_generated_conditions_agree_with_the_tree_on_normal_and_odd_values(tmp_path: Path) -> None:
    ruleset = load_ruleset(rulegen.write_ruleset(tmp_path, 150), Settings())
    rng = random.Random(5)
    contexts = peers.contexts(60)
    for context in peers.contexts(60, seed=9):  # provider bugs: any value in any signal
        contexts.append({name: rng.choice(ODD_VALUES) if rng.random() < 0.3 else v for name, v in context.items()})

    for context in contexts:
        for rule in ruleset.rules:
            signals = StaticSignals(context)
            assert rule.condition.test(signals) is interpret(rule.condition, StaticSignals(context)), rule.id


def test_every_rule_condition_is_one_generated_function(tmp_path: Path) -> None:
    ruleset = load_ruleset(rulegen.write_ruleset(tmp_path, 45), Settings())

    assert {rule.condition.test.__code__.co_filename for rule in ruleset.rules} == {"<smalldata condition>"}


@pytest.mark.parametrize("value", [["gold"], {"tier": "gold"}, {"gold"}], ids=["list", "dict", "set"])
@pytest.mark.parametrize("operator", ["in", "not_in"])
def test_an_unhashable_value_never_matches_in_or_not_in_and_never_raises(operator: str, value: object) -> None:
    assert holds({"user.tier": {operator: ["gold", "silver"]}}, {"user.tier": value}) is False


WRONG_KINDS: dict[str, list[object]] = {
    "number": [["x"], {"a": 1}, "3", object()],
    "text": [["x"], {"a": 1}, 3, object()],
    "list": [3, "abc", object()],
    "moment": [["x"], {"a": 1}, "2026-01-01", 3, object()],
}
CONDITIONS: list[tuple[str, dict[str, object]]] = [
    ("number", {"basket.total": {"gt": 1}}), ("number", {"basket.total": {"between": [1, 5]}}),
    ("number", {"time.hour": {"between": [22, 2]}}), ("number", {"basket.total": {"in": [1, 2]}}),
    ("text", {"page.path": {"starts_with": "/"}}), ("text", {"page.path": {"matches": "^/"}}),
    ("text", {"page.path": {"contains": "a"}}), ("text", {"geo.country": {"in": ["DK"]}}),
    ("list", {"basket.skus": {"contains": "a"}}), ("list", {"basket.skus": {"contains_all": ["a", "b"]}}),
    ("list", {"basket.skus": {"eq": ["a"]}}), ("list", {"history.viewed_products": {"empty": True}}),
    ("moment", {"visitor.first_seen": {"within": "7d"}}), ("moment", {"user.birthday": {"lt": "2000-01-01"}}),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "condition"), CONDITIONS, ids=[str(c) for _, c in CONDITIONS])
def test_a_value_of_the_wrong_kind_is_a_non_match_never_an_error(kind: str, condition: dict[str, object]) -> None:
    name = next(iter(condition))
    for value in WRONG_KINDS[kind]:
        assert holds(condition, {name: value, "time.now": "not a time"}) is False, value
