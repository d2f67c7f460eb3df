"""``smalldata bench``: the shop's gate (default) or smalldata's own suite (``--check`` / ``--suite project``).

Exit codes (docs/qa.md): 0 every budget holds, 1 a budget is broken (one ``BUDGET BROKEN:`` line
each), 2 a usage error, 3 inconclusive (a budget's confidence interval still straddled it when
the time limit came; nothing was broken).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smalldata.tools.bench import BenchUnavailable, require
from smalldata.tools.bench.verdict import BROKEN, HOLDS, INCONCLUSIVE, Budget, BudgetError, judge, parse_budgets

EXIT_OK, EXIT_BROKEN, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3
REGRESSION_FIGURES = ("p50", "p90", "mean", "share")  # p99 is reported, not compared: one slow page moves it


class UsageProblem(Exception):
    """A value on the command line or in ``bench:`` that cannot be used; the message says why."""


@dataclass
class Options:
    """What ``smalldata bench`` was asked (see ``smalldata bench --help``)."""

    rules: str | None = None
    config: str | None = None
    quick: bool = False
    budgets: list[str] = field(default_factory=list)
    app: str | None = None
    urls: list[str] = field(default_factory=list)
    baseline: str | None = None
    max_regression: str | None = None
    json: str | None = None
    junit: str | None = None
    markdown: str | None = None
    seconds: float | None = None  # the rounds' time limit (default: the plan's)
    progress: bool | None = None  # None: a progress line when stderr is a terminal


def main(options: Options, plan: Any = None) -> int:
    """Run the shop's gate; returns the exit code.

    ``plan``: a :class:`~smalldata.tools.bench.shop.Plan` of one's own.
    """
    try:
        require("fake_useragent", "itsdangerous", "httpx")
        result = _run(options, plan)
    except BenchUnavailable as exc:
        print(f"smalldata bench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (UsageProblem, BudgetError) as exc:
        print(f"smalldata bench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from smalldata.tools.bench import output

    print(output.table(result))
    for name, path, render in (("json", options.json, output.to_json), ("junit", options.junit, output.junit),
                               ("markdown", options.markdown, output.markdown)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(render(result), encoding="utf-8")
            print(f"{name}: {path}")
    for line in output.broken_lines(result):
        print(line, file=sys.stderr)
    return {HOLDS: EXIT_OK, BROKEN: EXIT_BROKEN, INCONCLUSIVE: EXIT_INCONCLUSIVE}[result["verdict"]]


def _run(options: Options, chosen: Any = None) -> dict[str, Any]:
    from smalldata.foundation.problems import ProblemsError
    from smalldata.rules import load_ruleset
    from smalldata.settings import load_settings
    from smalldata.tools.bench import callables, population, shop

    try:
        settings = load_settings(options.config)
    except ProblemsError as exc:
        raise UsageProblem("; ".join(str(p) for p in exc.problems)) from None
    rules = Path(options.rules or settings.rules)
    if not rules.exists():
        raise UsageProblem(f"no rules at {rules} (give --rules, or rules: in the settings)")
    budgets = parse_budgets(options.budgets, settings.bench.budget)
    if options.urls and not options.app:
        raise UsageProblem("--url needs --app module:attr (the shop's app whose pages it names)")
    if any(b.name == "share" for b in budgets) and not options.app:
        raise UsageProblem("a share= budget is a share of the shop's own page time: it needs --app")
    baseline = _baseline(options)
    settings = population.bench_settings(settings)
    try:
        ruleset = load_ruleset(rules, settings)
    except ProblemsError as exc:
        raise UsageProblem("the rules do not load: " + "; ".join(str(p) for p in exc.problems)) from None
    plan = chosen or (shop.QUICK if options.quick else shop.FULL)
    if options.seconds is not None:
        plan = shop.Plan(**{**vars(plan), "seconds": options.seconds})
    app = _import_app(options.app) if options.app else None
    progress = _progress(options)
    started = time.monotonic()
    progress("building the traffic")
    with callables.timed(settings) as timer:
        rows: list[shop.Row] = []
        if app is None:
            bare, wrapped = shop.page_pair(settings, rules)
            draws = population.build(ruleset, settings, visitors=1500, seed=1)
            rows.append(shop.Row("20 KB page, every path", bare, wrapped, draws.next, cookie=settings.state.cookie))
        else:
            bare, wrapped = shop.app_pair(app, settings, rules)
            for n, url in enumerate(options.urls or ["/"]):
                draws = population.build(ruleset, settings, visitors=1500, seed=1 + n, paths=[url])
                rows.append(shop.Row(url, bare, wrapped, draws.next, cookie=settings.state.cookie))
        regression = (lambda measured: _pending(measured, baseline)) if baseline else None
        measured = shop.run(rows, plan, budgets, timer if timer.names else None, progress, regression)
    progress("")
    result = shop.summary(measured, budgets)
    for entry in result["budgets"]:
        entry["kind"] = "budget"
    if baseline:
        result["budgets"] += _regressions(measured.rows, baseline)
    from smalldata.tools.bench.machine import machine

    verdicts = {entry["verdict"] for entry in result["budgets"]}
    result.update({
        "suite": "shop",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "rules": {"path": str(rules), "count": len(ruleset.rules), "tests": len(ruleset.tests)},
        "config": options.config,
        "app": options.app,
        "callables": timer.names,
        "plan": {**vars(plan), "quick": options.quick},
        "total_seconds": round(time.monotonic() - started, 1),
        "machine": machine(),
        "verdict": BROKEN if BROKEN in verdicts else INCONCLUSIVE if INCONCLUSIVE in verdicts else HOLDS,
    })
    return result


def _import_app(dotted: str) -> Any:
    from smalldata.foundation.dotted import import_function

    if ":" not in dotted:
        raise UsageProblem(f"--app {dotted}: write module:attribute, e.g. --app myshop.asgi:app")
    try:
        app = import_function(dotted)
    except ValueError as exc:
        raise UsageProblem(f"--app: {exc}") from None
    return app


def _baseline(options: Options) -> dict[str, Any] | None:
    from smalldata.tools.bench.verdict import parse_percent

    if options.max_regression and not options.baseline:
        raise UsageProblem("--max-regression needs --baseline FILE (a run written with --json)")
    if not options.baseline:
        return None
    try:
        data = json.loads(Path(options.baseline).read_text(encoding="utf-8"))
        gate = data["gate"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageProblem(f"--baseline {options.baseline}: not a run written by --json ({exc})") from None
    limit = parse_percent(options.max_regression or "15%")
    return {"gate": gate, "max": limit, "file": options.baseline}


def _regression_limits(baseline: dict[str, Any]) -> dict[str, tuple[float, float]]:
    out = {}
    for name in REGRESSION_FIGURES:
        figure = baseline["gate"].get(name)
        if isinstance(figure, dict) and isinstance(figure.get("median"), int | float) and figure["median"] > 0:
            out[name] = (figure["median"], figure["median"] * (1 + baseline["max"]))
    return out


def _pending(rows: list[Any], baseline: dict[str, Any]) -> bool:
    from smalldata.tools.bench.shop import pooled

    return any(judge(pooled(rows, name), limit).verdict == INCONCLUSIVE
               for name, (_, limit) in _regression_limits(baseline).items() if rows[0].rounds[name])


def _regressions(rows: list[Any], baseline: dict[str, Any]) -> list[dict[str, Any]]:
    from smalldata.tools.bench.shop import pooled

    out = []
    for name, (was, limit) in _regression_limits(baseline).items():
        values = pooled(rows, name)
        if not values or (name == "share" and not any(values)):
            continue
        judged = judge(values, limit)
        unit = "%" if name == "share" else "ms"
        out.append({"name": f"regression {name}", "kind": "regression", "budget": f"{_show(limit, unit)} "
                    f"(baseline {_show(was, unit)} + {baseline['max']:.0%})", "limit": limit, "unit": unit,
                    "measured": judged.median, "low": judged.low, "high": judged.high, "verdict": judged.verdict,
                    "rounds": judged.rounds})
    return out


def _show(value: float, unit: str) -> str:
    return f"{value:.1%}" if unit == "%" else f"{value:.3f}ms"


def _progress(options: Options) -> Any:
    on = sys.stderr.isatty() if options.progress is None else options.progress

    def show(what: str) -> None:
        if on:
            print(f"\r\033[K… {what}" if what else "\r\033[K", end="", file=sys.stderr, flush=True)

    return show


__all__ = ["EXIT_BROKEN", "EXIT_INCONCLUSIVE", "EXIT_OK", "EXIT_USAGE", "Budget", "Options", "main"]
