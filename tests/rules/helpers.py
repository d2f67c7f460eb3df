"""Small builders for rule tests: a rules folder in tmp_path, one compiled condition, a decision."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smalldata.decision import Decision
from smalldata.foundation.yamlpos import load_text
from smalldata.rules import Engine, Ruleset, check_ruleset, load_ruleset
from smalldata.rules.conditions import Always, Group, Leaf, Node
from smalldata.rules.when import ConditionCompiler
from smalldata.settings import Settings
from smalldata.signals.base import StaticSignals

SETTINGS = Settings()


def write_rules(folder: Path, text: str, name: str = "rules.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def problems_of(folder: Path) -> list[str]:
    _, problems = check_ruleset(folder, SETTINGS)
    return [str(p) for p in problems]


def compile_condition(condition: Any, segments: dict[str, Any] | None = None) -> tuple[Node, list[str]]:
    doc = load_text("{}", "t.yaml")
    doc.data = {"when": condition, "segments": segments or {}}
    sources = {name: (value, doc, ("segments", name)) for name, value in (segments or {}).items()}
    compiler = ConditionCompiler(sources, SETTINGS.zone)
    node = compiler.compile(condition, doc, ("when",))
    return node, [p.message for p in compiler.problems]


def holds(condition: Any, signals: dict[str, Any]) -> bool:
    node, problems = compile_condition(condition)
    assert not problems, problems
    return node.test(StaticSignals(signals))


def interpret(node: Node, signals: Mapping[str, Any]) -> bool:
    """A condition tree evaluated node by node, in plain Python: the reference for the generated code."""
    if isinstance(node, Always):
        return True
    if isinstance(node, Leaf):
        assert node.compiled is not None
        value = node.value(signals)  # type: ignore[arg-type]
        predicate = node.compiled.predicate
        if node.compiled.null_aware:
            return bool(predicate(value))
        if value is None:
            return False
        if node.compiled.needs_now:
            now = signals["time.now"]
            return now is not None and bool(predicate((value, now)))
        return bool(predicate(value))
    assert isinstance(node, Group)
    if node.kind in ("all", "segment"):
        return all(interpret(child, signals) for child in node.children)
    if node.kind == "any":
        return any(interpret(child, signals) for child in node.children)
    inner = node.children[0]
    known = all(leaf.value(signals) is not None for leaf in inner.leaves() if not leaf.null_aware)  # type: ignore[arg-type]
    return not interpret(inner, signals) and known


def reference_decide(ruleset: Ruleset, signals: StaticSignals, **options: Any) -> Decision:
    """The rules tried one by one in order, each condition interpreted: what the engine must answer."""
    from smalldata.rules.engine import _Hits

    decision = Decision(ruleset_version=ruleset.version)
    hits = _Hits(ruleset.rules, signals, decision, options.get("caps"), options.get("visitor_id"),
                 options.get("forced"), None)  # fmt: skip
    taken = decision.slot_rules
    now = signals["time.now"]
    for position, rule in enumerate(ruleset.rules):
        if rule.slots and not rule.tags and all(slot in taken for slot in rule.slots):
            continue
        if rule.active is not None and (now is None or not rule.active.contains(now)):
            continue
        if interpret(rule.condition, signals):
            hits.hit(position)
    return decision


def engine_for(folder: Path) -> Engine:
    return Engine(load_ruleset(folder, SETTINGS))


def decide(folder: Path, signals: dict[str, Any], **kwargs: Any) -> Decision:
    ruleset = load_ruleset(folder, SETTINGS)
    return Engine(ruleset).decide(StaticSignals(signals), **kwargs)
