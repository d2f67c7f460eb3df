"""Rules: load YAML, compile conditions to callables, evaluate them into a decision."""

from __future__ import annotations

from smalldata.rules.engine import CapCounts, Engine, StaticCaps
from smalldata.rules.load import check_ruleset, load_ruleset, rule_files
from smalldata.rules.ruleset import CompiledRule, Ruleset

__all__ = ["CapCounts", "CompiledRule", "Engine", "Ruleset", "StaticCaps", "check_ruleset", "load_ruleset",
           "rule_files"]
