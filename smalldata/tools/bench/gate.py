"""smalldata's own gate and targets (benchmarks/README.md), judged on a report of the project suite.

Every gate figure is a **ratio of two figures measured in the same interleaved rounds**: smalldata
against the floor (a minimal hand-written middleware, ``floor.py``) on the same rules and traffic,
the cold page against the warm one, smalldata behind uvicorn against the bare app, smalldata
against GrowthBook. A machine that is slow for a while (a loaded CI runner, a neighbour's build)
slows both sides of each ratio, so the ratios hold where milliseconds would not.

Each ratio is computed round by round and judged on its median with a 95 % interval
(:mod:`smalldata.tools.bench.verdict`): **broken** when the whole interval is beyond the gate;
inconclusive ones are printed, not failed. Targets are printed beside the gate, never failing it.
p99 figures are reported, not gated (on shared machines they are noise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smalldata.tools.bench.verdict import BROKEN, HOLDS, judge, ratio_rounds


def _rounds(report: dict[str, Any], *keys: str) -> list[float]:
    value: Any = report
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return []
        value = value[key]
    return [float(v) for v in value] if isinstance(value, list) else []


def _over(top: tuple[str, ...], bottom: tuple[str, ...]) -> Callable[[dict[str, Any]], list[float]]:
    def read(report: dict[str, Any]) -> list[float]:
        return ratio_rounds(_rounds(report, *top), _rounds(report, *bottom))

    return read


def _at(*keys: str) -> Callable[[dict[str, Any]], list[float]]:
    return lambda report: _rounds(report, *keys)


@dataclass(frozen=True)
class Gated:
    """One gate figure: how to read its rounds from a report, its gate and its target."""

    name: str
    unit: str  # "× floor", "× warm", "% of bare", "× faster"
    gate: float
    target: float | None
    higher_is_better: bool
    read: Callable[[dict[str, Any]], list[float]]

    def describe(self, limit: float) -> str:
        shown = f"{limit:.0%}" if self.unit.startswith("%") else f"{limit:g}×"
        rest = self.unit.removeprefix("%").removeprefix("×").strip()
        return f"{'≥' if self.higher_is_better else '≤'} {shown} {rest}".rstrip()


GATE = (
    Gated("fixed cost p50 (1 rule, never matches)", "× floor", 2.5, 1.2, False,
          _over(("overhead", "fixed", "p50_rounds_ms"), ("floor", "fixed", "p50_rounds_ms"))),
    Gated("overhead p50, 100 rules, all signals", "× floor", 5.0, 1.5, False,
          _over(("overhead", "100", "p50_rounds_ms"), ("floor", "100", "p50_rounds_ms"))),
    Gated("overhead p50, 1,000 rules", "× floor", 2.0, 1.2, False,
          _over(("overhead", "1000", "p50_rounds_ms"), ("floor", "1000", "p50_rounds_ms"))),
    Gated("cold p50 (new UA, IP, visitor; 100 rules)", "× warm", 2.0, 1.2, False,
          _over(("cold", "p50_rounds_ms"), ("overhead", "100", "p50_rounds_ms"))),
    Gated("throughput, uvicorn, page rendered in 2-3 ms", "% of bare", 0.85, 0.95, True,
          _at("throughput", "ratio_rounds")),
    Gated("a decision (new context + 100 rules) vs GrowthBook", "× faster", 5.0, None, True,
          _at("peers", "engine", "speedup_rounds")),
    Gated("condition evaluation vs GrowthBook evalCondition", "× faster", 8.0, None, True,
          _at("peers", "speedup_rounds")),
)


def check(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every gate figure: its median over rounds, interval, verdict, and whether its target is met."""
    results = []
    for gated in GATE:
        values = gated.read(report)
        if gated.unit.startswith("%"):  # smalldata adds work: above 100 % of bare is noise, read as 100 %
            values = [min(v, 1.0) for v in values]
        entry: dict[str, Any] = {"name": gated.name, "unit": gated.unit, "gate": gated.describe(gated.gate),
                                 "target": gated.describe(gated.target) if gated.target is not None else None,
                                 "rounds": values}
        if not values:
            entry.update(measured=None, low=None, high=None, verdict=BROKEN, target_met=False)
        else:
            judged = judge(values, gated.gate, higher_is_better=gated.higher_is_better)
            target = judge(values, gated.target, higher_is_better=gated.higher_is_better) if gated.target else None
            entry.update(measured=judged.median, low=judged.low, high=judged.high, verdict=judged.verdict,
                         target_met=None if target is None else target.verdict == HOLDS)
        results.append(entry)
    return results


def show(entry: dict[str, Any], key: str = "measured") -> str:
    value = entry[key]
    if value is None:
        return "not measured"
    return f"{value:.1%}" if entry["unit"].startswith("%") else f"{value:.2f}×"


def broken(results: list[dict[str, Any]]) -> list[str]:
    """A line per broken gate figure, naming it with the measured figure and its interval."""
    return [f"BUDGET BROKEN: {r['name']}: measured {show(r)}"
            + (f" (interval {show(r, 'low')}–{show(r, 'high')})" if r["measured"] is not None else "")
            + f", budget {r['gate']}" for r in results if r["verdict"] == BROKEN]
