"""The shop's gate: what smalldata costs on the shop's own rules, settings, traffic and (optionally) pages.

Rows, each a pair of apps called in-process as raw ASGI, request by request, with and without
``SmallData`` (the shop's ``--rules`` and ``--config``):

- ``page``: a 20 KB HTML page on every path (what the rules and signals cost, whatever the shop's
  pages cost to render);
- with ``--app module:attr``: one row per ``--url``, the shop's own app (as it is *before*
  smalldata is added) bare and wrapped.

The traffic (:mod:`smalldata.tools.bench.population`) is a realistic population plus, one request in
five, the visitors of the rule files' ``tests:`` (``given:``, ``url:``, ``at:``), so every tested
rule is decided on. The shop's declared sources and user and basket callables run as in
production; the time spent inside them is measured apart.

Rounds: every row in every round, the order turning; a round's figures come from its own pairs.
After :attr:`Plan.min_rounds` the budgets are judged (:mod:`smalldata.tools.bench.verdict`); while one
is inconclusive, more rounds run, up to :attr:`Plan.seconds`.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smalldata.tools.bench import callables
from smalldata.tools.bench.inprocess import App, call, html_page, running
from smalldata.tools.bench.traffic import Request, remember, scope_for
from smalldata.tools.bench.verdict import BROKEN, HOLDS, INCONCLUSIVE, Budget, judge, median

FIGURES = ("p50", "p90", "p99", "mean")


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    pairs: int  # measured pairs per row per round
    settle: int  # unmeasured pairs before each slice
    warmup: int  # unmeasured pairs per row before the first round
    min_rounds: int
    max_rounds: int
    seconds: float  # time limit of the rounds (more rounds only while a verdict is inconclusive)


FULL = Plan(pairs=1000, settle=30, warmup=500, min_rounds=10, max_rounds=60, seconds=240)
QUICK = Plan(pairs=300, settle=20, warmup=200, min_rounds=8, max_rounds=40, seconds=35)


@dataclass
class Row:
    """One measured pair of apps and its figures, round by round (ms)."""

    label: str
    bare: App
    wrapped: App
    draw: Callable[[], Request]
    rounds: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in (*FIGURES, "bare_p50", "share",
                                                                                    "callables")})
    cookie: str = "sd_visitor"  # the visitor cookie a browser keeps between pages
    errors: int = 0
    requests: int = 0
    personalised: int = 0


@dataclass
class Measured:
    rows: list[Row]
    seconds: float
    rounds: int


async def pairs(row: Row, count: int, turn: int, timer: callables.Timer | None
                ) -> tuple[list[int], list[int], int]:
    """``count`` requests to both apps, alternating which goes first; (bare ns, wrapped ns, ns in callables)."""
    bare: list[int] = []
    wrapped: list[int] = []
    spent_before = timer.spent if timer else 0  # no timer: unmeasured pairs (warm-up, settling)
    for i in range(count):
        request = row.draw()
        first, second = scope_for(request), scope_for(request)
        if (i + turn) % 2:
            t_bare, r_bare = await call(row.bare, first)
            t_sd, r_sd = await call(row.wrapped, second)
        else:
            t_sd, r_sd = await call(row.wrapped, first)
            t_bare, r_bare = await call(row.bare, second)
        if r_sd.status != r_bare.status or r_sd.status >= 500:
            row.errors += 1
        if timer is not None and b'id="smalldata"' in r_sd.body:  # counted in measured pairs only
            row.personalised += 1
        remember(request, r_sd.set_cookies, row.cookie)
        bare.append(t_bare)
        wrapped.append(t_sd)
    spent = (timer.spent if timer else 0) - spent_before
    return bare, wrapped, spent


def _pct(ordered: list[int], q: float) -> float:
    return float(ordered[min(int(q * len(ordered)), len(ordered) - 1)])


async def measure_round(rows: list[Row], plan: Plan, turn: int, timer: callables.Timer | None) -> None:
    """One round: a slice of every row (the order turning by one each round)."""
    order = rows[turn % len(rows):] + rows[: turn % len(rows)]
    for row in order:
        await pairs(row, plan.settle, turn, None)
        gc.collect()
        bare, wrapped, spent = await pairs(row, plan.pairs, turn, timer or callables.Timer())
        overhead = sorted(w - b for w, b in zip(wrapped, bare, strict=True))
        n = len(overhead)
        figures = row.rounds
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            figures[name].append(_pct(overhead, q) / 1e6)
        figures["mean"].append(sum(overhead) / n / 1e6)
        bare_p50 = _pct(sorted(bare), 0.5) / 1e6
        figures["bare_p50"].append(bare_p50)
        figures["share"].append(figures["p50"][-1] / bare_p50 if bare_p50 > 0 else 0.0)
        figures["callables"].append(spent / n / 1e6)
        row.requests += n


def pooled(rows: list[Row], name: str) -> list[float]:
    """The gate's figure round by round: the median over the rows of each round (one row: itself)."""
    return [median([row.rounds[name][i] for row in rows]) for i in range(len(rows[0].rounds[name]))]


def verdicts(rows: list[Row], budgets: list[Budget]) -> dict[str, str]:
    return {b.name: judge(pooled(rows, b.name), b.limit).verdict for b in budgets}


async def run_rounds(rows: list[Row], plan: Plan, budgets: list[Budget], timer: callables.Timer | None,
                     progress: Callable[[str], None], regression: Callable[[list[Row]], bool] | None = None
                     ) -> Measured:
    """Warm up, then rounds until the budgets have a verdict (or the time limit)."""
    for row in rows:
        await pairs(row, plan.warmup, 0, None)
    started = time.monotonic()
    turn = 0
    while True:
        progress(f"round {turn + 1}: {', '.join(row.label for row in rows)}")
        await measure_round(rows, plan, turn, timer)
        turn += 1
        if turn < plan.min_rounds:
            continue
        found = set(verdicts(rows, budgets).values())
        # a broken budget already decides the exit code: more rounds would not change it
        pending = BROKEN not in found and (INCONCLUSIVE in found or (regression is not None and regression(rows)))
        elapsed = time.monotonic() - started
        per_round = elapsed / turn
        if not pending or turn >= plan.max_rounds or elapsed + per_round > plan.seconds:
            return Measured(rows, round(elapsed, 1), turn)


# -- the apps --------------------------------------------------------------------------------


def page_endpoint(size: int = 20 * 1024) -> Callable[..., Any]:
    page = html_page(size)

    async def endpoint(request: Any) -> Any:
        from starlette.responses import HTMLResponse

        return HTMLResponse(page)

    return endpoint


def page_pair(settings: Any, rules: Path) -> tuple[App, App]:
    """The 20 KB page behind a session middleware (where the population's logins and baskets live)."""
    from starlette.middleware import Middleware

    from smalldata.middleware import SmallData
    from smalldata.tools.bench.inprocess import pair_with

    return pair_with(page_endpoint(), Middleware(SmallData, rules=rules, settings=settings))


def app_pair(app: App, settings: Any, rules: Path) -> tuple[App, App]:
    """The shop's own app and the same app wrapped by ``SmallData`` (outermost, as a shop adds it)."""
    from smalldata.middleware import SmallData

    return app, SmallData(app, rules=rules, settings=settings)


async def measure(rows: list[Row], plan: Plan, budgets: list[Budget], timer: callables.Timer | None,
                  progress: Callable[[str], None], regression: Callable[[list[Row]], bool] | None = None
                  ) -> Measured:
    apps: list[App] = [a for row in rows for a in (row.bare, row.wrapped)]
    async with running(*{id(a): a for a in apps}.values()):
        return await run_rounds(rows, plan, budgets, timer, progress, regression)


def run(rows: list[Row], plan: Plan, budgets: list[Budget], timer: callables.Timer | None,
        progress: Callable[[str], None], regression: Callable[[list[Row]], bool] | None = None) -> Measured:
    """Measure ``rows`` in a fresh event loop."""
    return asyncio.run(measure(rows, plan, budgets, timer, progress, regression))


def summary(measured: Measured, budgets: list[Budget]) -> dict[str, Any]:
    """Figures (median over rounds and its interval) per row and for the gate; each budget's verdict."""
    rows = measured.rows
    out: dict[str, Any] = {"rounds": measured.rounds, "seconds": measured.seconds, "rows": {}, "gate": {},
                           "budgets": []}
    for row in rows:
        out["rows"][row.label] = {name: _figure(values) for name, values in row.rounds.items()} | {
            "requests": row.requests, "errors": row.errors,
            "personalised_share": round(row.personalised / row.requests, 3) if row.requests else None}
    for name in rows[0].rounds:
        out["gate"][name] = _figure(pooled(rows, name))
    for budget in budgets:
        judged = judge(pooled(rows, budget.name), budget.limit)
        out["budgets"].append({"name": budget.name, "budget": budget.text, "limit": budget.limit,
                               "unit": budget.unit, "measured": judged.median, "low": judged.low,
                               "high": judged.high, "verdict": judged.verdict, "rounds": judged.rounds})
    return out


def _figure(values: list[float]) -> dict[str, Any]:
    from smalldata.tools.bench.verdict import median_interval

    low, high = median_interval(values)
    return {"median": median(values), "low": low, "high": high, "rounds": list(values)}


__all__ = ["BROKEN", "FULL", "HOLDS", "INCONCLUSIVE", "QUICK", "Plan", "Row", "app_pair", "page_pair", "run",
           "summary"]
