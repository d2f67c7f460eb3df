"""The performance budget (see ``benchmarks/README.md``), checked against a report.

Per-request figures are in **S**: the median time of one request to a bare Starlette
app serving a 20 KB page, measured in the same run. A machine that runs slower for a
minute slows S and smalldata alike, so the budget holds on a drifting machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Budget:
    """One budgeted figure: where it is in the report, its limit and which way is good."""

    name: str
    unit: str
    limit: float
    higher_is_better: bool
    read: Callable[[dict[str, Any]], float | None]

    def holds(self, value: float) -> bool:
        return value >= self.limit if self.higher_is_better else value <= self.limit

    def describe(self) -> str:
        return f"{'≥' if self.higher_is_better else '≤'} {self.limit:g} {self.unit}"


def _at(*keys: str) -> Callable[[dict[str, Any]], float | None]:
    def read(report: dict[str, Any]) -> float | None:
        value: Any = report
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return float(value) if isinstance(value, int | float) else None

    return read


BUDGETS = (
    Budget("fixed cost p50, 1 rule never matching", "S", 3, False, _at("overhead", "fixed", "p50_s")),
    Budget("overhead p50, 100 rules, all signals", "S", 6, False, _at("overhead", "100", "p50_s")),
    Budget("overhead p99, 100 rules, all signals", "S", 25, False, _at("overhead", "100", "p99_s")),
    Budget("overhead p50, 1,000 rules", "S", 15, False, _at("overhead", "1000", "p50_s")),
    Budget("cold p50: new User-Agent, IP and visitor, 100 rules", "S", 10, False, _at("cold", "p50_s")),
    Budget("cold p99: new User-Agent, IP and visitor, 100 rules", "S", 30, False, _at("cold", "p99_s")),
    Budget("throughput behind uvicorn, 100 rules, rendered page, share of bare", "×", 0.9, True,
           _at("throughput", "ratio")),
    Budget("engine vs GrowthBook, new context + 100 rules per request", "×", 5.0, True,
           _at("peers", "engine", "speedup")),
    Budget("condition evaluation vs GrowthBook evalCondition", "×", 10.0, True, _at("peers", "speedup")),
)


def check(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every budget with its measured figure (``None`` when not measured) and whether it holds."""
    results = []
    for budget in BUDGETS:
        value = budget.read(report)
        results.append(
            {
                "name": budget.name,
                "budget": budget.describe(),
                "measured": value,
                "unit": budget.unit,
                "ok": value is not None and budget.holds(value),
            }
        )
    return results


def broken(results: list[dict[str, Any]]) -> list[str]:
    """A line per broken budget, naming it with the measured figure."""
    lines = []
    for result in results:
        if result["ok"]:
            continue
        measured = "not measured" if result["measured"] is None else f"{result['measured']:g} {result['unit']}"
        lines.append(f"BUDGET BROKEN: {result['name']}: measured {measured}, budget {result['budget']}")
    return lines
