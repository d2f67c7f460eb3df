"""The rule index lets the engine skip rules that cannot match, and never changes a decision."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from typing import Any

from smalldata.decision import Decision
from smalldata.foundation.asgi import make_scope
from smalldata.rules import Engine, StaticCaps, load_ruleset
from smalldata.rules.index import key_of
from smalldata.settings import Settings
from smalldata.signals.base import StaticSignals
from smalldata.signals.providers import signals_for
from smalldata.tools.bench import peers, rulegen
from tests.rules.helpers import compile_condition, reference_decide, write_rules

SETTINGS = Settings(timezone="Europe/Copenhagen")
ODD_VALUES: list[Any] = [None, "text", 3, 2.5, True, False, [], ["coffee"], {"a": 1}, "DK", "/products/x"]


def test_the_indexed_engine_decides_exactly_as_testing_every_rule(tmp_path: Path) -> None:
    # the reference tries every rule in turn, interpreting its condition tree
    ruleset = load_ruleset(rulegen.write_ruleset(tmp_path, 600), SETTINGS)
    engine = Engine(ruleset)
    rng = random.Random(3)
    contexts = peers.contexts(150)
    for context in peers.contexts(80, seed=9):  # provider bugs: any value in any signal, unhashable ones too
        contexts.append({name: rng.choice(ODD_VALUES) if rng.random() < 0.3 else v for name, v in context.items()})
    matched = 0
    for n, context in enumerate(contexts):
        context["time.now"] = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randrange(24),
                                       tzinfo=SETTINGS.zone)  # fmt: skip
        caps = StaticCaps({rule.id: rng.randint(0, 3) for rule in ruleset.rules if rule.cap})
        visitor = f"visitor-{n}" if n % 5 else None

        quick = _outcome(engine.decide(StaticSignals(context), caps=caps, visitor_id=visitor))
        traced = _outcome(engine.decide(StaticSignals(context), caps=caps, visitor_id=visitor, trace=True))
        expected = _outcome(reference_decide(ruleset, StaticSignals(context), caps=caps, visitor_id=visitor))

        assert quick == traced == expected
        matched += len(quick[1])
    assert matched > len(contexts) * 3  # the contexts do make rules match


def _outcome(decision: Decision) -> Any:
    return decision.to_json(), decision.matched, decision.cap_hits, decision.exposures


def test_a_rule_is_keyed_on_its_cheapest_plain_comparison() -> None:
    node, _ = compile_condition({"page.path": {"starts_with": "/shop"}, "geo.country": ["DK", "SE"]})
    assert key_of(node) is None  # geo is dearer than the page test that runs first: never read for the index

    node, _ = compile_condition({"user.logged_in": True, "user.tier": ["gold", "platinum"]})
    key = key_of(node)
    assert key is not None and (key.signal, key.values) == ("user.tier", frozenset({"gold", "platinum"}))

    node, _ = compile_condition({"history.viewed_categories": {"contains_all": ["coffee", "kitchen"]}})
    key = key_of(node)
    assert key is not None and (key.signal, key.values, key.items) == ("history.viewed_categories",
                                                                       frozenset({"coffee"}), True)

    coffee = {"coffee": {"page.category": "coffee"}}
    node, _ = compile_condition({"segment": "coffee", "visitor.visits": {"gte": 3}}, coffee)
    key = key_of(node)
    assert key is not None and (key.signal, key.values) == ("page.category", frozenset({"coffee"}))


def test_signals_of_rules_the_index_skips_are_never_computed(tmp_path: Path) -> None:
    folder = write_rules(tmp_path / "rules", """
        rules:
          - id: coffee-mobile
            when: {page.category: coffee, device.type: mobile, geo.country: DK}
            then: {banner: {slot: hero, text: Kaffe}}
          - id: lamps-mobile
            when: {page.category: lighting, device.type: mobile}
            then: {banner: {slot: hero, text: Lamper}}
    """)
    engine = Engine(load_ruleset(folder, SETTINGS))
    signals = signals_for(make_scope("/category/textiles"), SETTINGS)

    decision = engine.decide(signals)

    assert decision.matched == []
    assert set(signals.computed) == {"page"}  # no User-Agent parsed, no GeoIP lookup
