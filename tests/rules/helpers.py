"""Small builders for rule tests: a rules folder in tmp_path, one compiled condition, a decision."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from smalldata.decision import Decision
from smalldata.rules import Engine, check_ruleset, load_ruleset
from smalldata.rules.conditions import ConditionCompiler, Node
from smalldata.settings import Settings
from smalldata.signals.base import StaticSignals
from smalldata.yamlpos import load_text

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


def engine_for(folder: Path) -> Engine:
    return Engine(load_ruleset(folder, SETTINGS), SETTINGS)


def decide(folder: Path, signals: dict[str, Any], **kwargs: Any) -> Decision:
    ruleset = load_ruleset(folder, SETTINGS)
    return Engine(ruleset, SETTINGS).decide(StaticSignals(signals), **kwargs)
