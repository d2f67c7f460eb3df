"""Budgets and verdicts that do not flip from noise.

A figure is measured once per *round* (each round interleaves the bare and the wrapped
app, request by request), and judged on the **median over rounds** with a distribution-free
confidence interval for that median (order statistics of the binomial law, no assumption
about the shape of the noise). A budget:

- **holds** when the whole interval is inside it,
- is **broken** when the whole interval is outside it,
- is **inconclusive** while the interval straddles it: the caller measures more rounds, up to
  its time limit, and then reports it as inconclusive (its own exit code).

A machine that is slow for a while slows both sides of every pair, and the rounds spread a slow
spell over every figure; a single slow round moves the median by one place, not the verdict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HOLDS, BROKEN, INCONCLUSIVE = "holds", "broken", "inconclusive"
CONFIDENCE = 0.95
_VALUE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|µs|us|%)?\s*$")
# what each budget name reads (ms figures of the paired overhead; share: of the page's own time)
BUDGET_NAMES = {
    "p50": ("ms", "median overhead per page"),
    "p90": ("ms", "90th percentile overhead per page"),
    "p99": ("ms", "99th percentile overhead per page"),
    "mean": ("ms", "mean overhead per page"),
    "share": ("%", "median overhead as a share of the page's own median time (--app)"),
}


class BudgetError(ValueError):
    """A budget that cannot be read; the message says why and what is accepted."""


@dataclass(frozen=True)
class Budget:
    """One limit: ``name`` (a key of :data:`BUDGET_NAMES`) ≤ ``limit`` (ms, or a fraction for ``share``)."""

    name: str
    limit: float
    text: str  # as the shop wrote it, e.g. "1ms"

    @property
    def unit(self) -> str:
        return BUDGET_NAMES[self.name][0]


def parse_budget(item: str) -> Budget:
    """``p50=1ms``, ``p99=0.5ms``, ``p50=800µs``, ``share=5%`` → :class:`Budget`."""
    name, sep, value = item.partition("=")
    name = name.strip()
    if not sep:
        raise BudgetError(f"budget '{item}': write NAME=VALUE, e.g. p50=1ms or share=5%")
    return budget_from(name, value)


def budget_from(name: str, value: Any) -> Budget:
    """One budget from its name and its value (text like ``1ms``; a bare number is ms, or % for share)."""
    if name not in BUDGET_NAMES:
        raise BudgetError(f"budget '{name}': unknown name; use one of {', '.join(BUDGET_NAMES)}")
    text = str(value).strip()
    match = _VALUE.match(text)
    if match is None or isinstance(value, bool):
        raise BudgetError(f"budget {name}={text}: write a number with a unit, e.g. {name}=" +
                          ("5%" if name == "share" else "1ms"))
    number, unit = float(match.group(1)), match.group(2)
    wanted = BUDGET_NAMES[name][0]
    if wanted == "%":
        if unit not in (None, "%"):
            raise BudgetError(f"budget {name}={text}: a share is in %, e.g. share=5%")
        return Budget(name, number / 100, text)
    if unit == "%":
        raise BudgetError(f"budget {name}={text}: a time is in ms (or µs), e.g. {name}=1ms")
    ms = number / 1000 if unit in ("µs", "us") else number
    return Budget(name, ms, text)


def parse_budgets(items: Sequence[str], configured: Mapping[str, Any] | None = None) -> list[Budget]:
    """The settings' ``bench: budget:`` overridden by ``--budget`` items of the same name."""
    budgets = {name: budget_from(name, value) for name, value in (configured or {}).items()}
    for item in items:
        budget = parse_budget(item)
        budgets[budget.name] = budget
    return list(budgets.values())


def parse_percent(text: str) -> float:
    """``15%`` or ``15`` → 0.15."""
    match = _VALUE.match(text)
    if match is None or match.group(2) not in (None, "%"):
        raise BudgetError(f"'{text}': write a percentage, e.g. 15%")
    return float(match.group(1)) / 100


# -- the median and its interval ---------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return math.nan
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """A distribution-free interval for the median: the order statistics ``x(k)`` and ``x(n-k+1)``.

    ``k`` is the largest rank with P(Binomial(n, ½) < k) ≤ (1 - confidence) / 2. With fewer than
    6 rounds no such rank exists at 95 %: the interval is then the whole range of the rounds
    widened by half of it, so a verdict needs either more rounds or a figure far from the budget.
    """
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return math.nan, math.nan
    alpha = (1 - confidence) / 2
    k, tail = 0, 0.0
    while k < n // 2:
        nxt = tail + math.comb(n, k) / 2**n
        if nxt > alpha:
            break
        tail, k = nxt, k + 1
    if k == 0:
        spread = (ordered[-1] - ordered[0]) / 2
        return ordered[0] - spread, ordered[-1] + spread
    return ordered[k - 1], ordered[n - k]


@dataclass(frozen=True)
class Judged:
    """A figure's rounds, their median and interval, and what they say about a limit."""

    median: float
    low: float
    high: float
    verdict: str
    rounds: int


def judge(values: Sequence[float], limit: float, *, higher_is_better: bool = False) -> Judged:
    """:data:`HOLDS`, :data:`BROKEN` or :data:`INCONCLUSIVE` for ``median(values)`` against ``limit``."""
    low, high = median_interval(values)
    mid = median(values)
    if higher_is_better:
        verdict = HOLDS if low >= limit else BROKEN if high < limit else INCONCLUSIVE
    else:
        verdict = HOLDS if high <= limit else BROKEN if low > limit else INCONCLUSIVE
    return Judged(mid, low, high, verdict, len(values))


def ratio_rounds(top: Sequence[float], bottom: Sequence[float]) -> list[float]:
    """Round by round ``top / bottom`` (both measured in the same round, so a slow round cancels)."""
    return [t / b for t, b in zip(top, bottom, strict=True) if b > 0]
