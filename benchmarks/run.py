"""``smalldata bench``: run the suite, print a table, write the JSON report and the plot, check the budget.

The figures (see ``benchmarks/README.md``):

1. overhead per HTML request of the example shop, paired with and without
   ``SmallData``, for the shipped rules, for 10, 100 and 1,000 generated rules, and
   for one rule that never matches (the fixed cost of every page);
2. where the 100-rule overhead goes (signals, engine, state, recommendations, delivery);
3. the cold case: a never-seen User-Agent and IP, a new visitor;
4. page size: 5 KB, 100 KB and 1 MB pages with 100 rules;
5. throughput behind uvicorn with 100 rules against the bare shop;
6. condition evaluation against GrowthBook's ``evalCondition``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import budget, inprocess, peers, throughput, traffic
from benchmarks.rulegen import PRODUCTS, write_ruleset

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHIPPED_RULES = REPO / "rules"
RULE_COUNTS = (10, 100, 1000)
# One rule that no page matches: what every page pays before any rule can help (consent, the
# visitor cookie read, verified, counted and written back, the cache headers).
FIXED_COST_RULES = """\
rules:
  - id: never
    when: {page.path: /no-page-has-this-path}
    then: {greeting: Hello}
"""
_BUILDS_PER_ROW = 1_000_000  # a pool of 5,000 uses at most 100,000 build numbers
OVERHEAD_ROWS = ("fixed", "shipped", "10", "100", "1000")
ROW_LABELS = {"fixed": "fixed cost: 1 rule, never matches", "shipped": "shipped rules/ (27)"}
PAGE_SIZES = {"5KB": 5 * 1024, "100KB": 100 * 1024, "1MB": 1024 * 1024}


@dataclass(frozen=True)
class Plan:
    """How much to measure: the full run or ``--quick``."""

    warmup: int
    requests: int  # paired requests for the 100-rule headline figure
    requests_other: int  # for the other rule counts and page sizes
    phases: int
    cold: int
    visitors: int
    throughput_seconds: float
    throughput_rounds: int
    peer_contexts: int
    peer_rounds: int
    rounds: int  # turns of the interleaved overhead measurement


FULL = Plan(warmup=1500, requests=6000, requests_other=2500, phases=2000, cold=500, visitors=5000,
            throughput_seconds=10, throughput_rounds=3, peer_contexts=100, peer_rounds=5, rounds=6)  # fmt: skip
QUICK = Plan(warmup=400, requests=2000, requests_other=600, phases=500, cold=150, visitors=2000,
             throughput_seconds=3, throughput_rounds=2, peer_contexts=100, peer_rounds=5, rounds=3)  # fmt: skip


def main(*, quick: bool = False, check: bool = False, output: str | None = None) -> int:
    """Run the suite; returns 1 when ``check`` and a budget is broken, else 0."""
    plan = QUICK if quick else FULL
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="smalldata-bench-") as work:
        report = asyncio.run(_measure(plan, Path(work)))
        report["throughput"] = _throughput(plan, Path(work), report.pop("_throughput_requests"))
    report["run"] = {"quick": quick, "seconds": round(time.monotonic() - started, 1), "plan": vars(plan)}
    report["budgets"] = results = budget.check(report)
    out = Path(output) if output else HERE / "results" / ("quick" if quick else "")
    out.mkdir(parents=True, exist_ok=True)
    name = "latest.json"
    (out / name).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plotted = _plot(report, out / "overhead_vs_rules.png")
    print(table(report))
    print(f"\nreport: {out / name}" + (f"\nplot:   {plotted}" if plotted else ""))
    problems = budget.broken(results)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if check and problems else 0


# -- measuring -------------------------------------------------------------------------------


async def _measure(plan: Plan, work: Path) -> dict[str, Any]:
    from smalldata.signals.device import PARSER

    PARSER.warm_up()
    config = _setup_geo(work)
    rulesets = {str(n): write_ruleset(work / f"rules-{n}", n) for n in RULE_COUNTS}
    rulesets["shipped"] = SHIPPED_RULES
    rulesets["fixed"] = _fixed_cost_rules(work / "rules-fixed")
    report: dict[str, Any] = {"machine": machine(), "created": datetime.now(UTC).isoformat(timespec="seconds")}

    bare, _ = inprocess.shop_pair(rulesets["10"], config)
    sessions = await traffic.shop_sessions(bare, 60)
    geo = traffic.plan_geo()

    def mix(row: int) -> traffic.Mix:
        # The same draws for every row (visitors, pages, which rank of User-Agent and address), but
        # each row its own long tail: its own build variants of the real User-Agents (the head,
        # common to all) and its own addresses. Rows share the process-wide caches; with tails of
        # their own, no row gets its User-Agent parses and GeoIP lookups done by another row.
        return traffic.Mix(
            user_agents=traffic.user_agent_pool(5000, seed=11 + row, builds_from=row * _BUILDS_PER_ROW),
            addresses=traffic.address_pool(geo, 3000, seed=3 + row),
            sessions=sessions,
            visitors=plan.visitors,
        )

    rows: dict[str, inprocess.Row] = {}
    for key in OVERHEAD_ROWS:
        bare, with_smalldata = inprocess.shop_pair(rulesets[key], config)
        count = plan.requests if key == "100" else plan.requests_other
        rows[key] = inprocess.Row(bare, with_smalldata, mix(len(rows)), count, plan.warmup)
    for label, size in PAGE_SIZES.items():
        bare, with_smalldata = inprocess.page_pair(rulesets["100"], config, size)
        rows[label] = inprocess.Row(bare, with_smalldata, mix(len(rows)), plan.requests_other,
                                    plan.warmup // 4)  # fmt: skip
    apps = [app for row in rows.values() for app in (row.bare, row.smalldata)]
    async with inprocess.running(*apps):
        _progress(f"overhead: {len(OVERHEAD_ROWS)} rule sets and {len(PAGE_SIZES)} page sizes, "
                  f"in {plan.rounds} interleaved rounds")  # fmt: skip
        measured = await inprocess.interleaved(rows, plan.rounds)
        hundred = rows["100"]
        _progress("phases, 100 rules")
        report["phases"] = await inprocess.phase_pass(hundred.bare, hundred.smalldata, hundred.mix, plan.phases)
        _progress("cold cache, 100 rules")
        cold = await inprocess.paired(hundred.bare, hundred.smalldata, cold_requests(geo, plan.cold))
        report["cold"] = stats(cold)
        report["cold"]["what"] = "first request of a never-seen User-Agent and IP, new visitor"
    report["traffic"] = traffic.describe(rows["100"].mix, measured["100"].requests)
    report["overhead"] = {key: stats(measured[key]) for key in OVERHEAD_ROWS}
    report["page_size"] = {label: stats(measured[label]) for label in PAGE_SIZES}

    _progress("peers: condition evaluation vs GrowthBook")
    report["peers"] = peers.compare(rulesets["1000"], 1000, contexts_count=plan.peer_contexts, rounds=plan.peer_rounds)
    report["peers"]["peer"] = f"growthbook {_version('growthbook')} growthbook.core.evalCondition"
    throughput_mix = mix(len(rows))
    report["_throughput_requests"] = [throughput_mix.next() for _ in range(1000)]
    return report


def _fixed_cost_rules(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fixed.yaml").write_text(FIXED_COST_RULES, encoding="utf-8")
    return folder


def _throughput(plan: Plan, work: Path, requests: list[traffic.Request]) -> dict[str, Any]:
    _progress("throughput behind uvicorn, 100 rules")
    rules = work / "rules-100"
    config = work / "smalldata.yaml"
    try:
        return throughput.measure(rules, config, requests, seconds=plan.throughput_seconds,
                                  rounds=plan.throughput_rounds, work=work)  # fmt: skip
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def _setup_geo(work: Path) -> Path:
    """The shop's own settings, plus a GeoIP2 City database built for the run and the cookie key."""
    import yaml

    from smalldata.demo import load_app

    load_app  # noqa: B018 - the import puts examples/ on sys.path
    from examples.shop import app as shop

    base = Path(shop.SETTINGS)
    data = yaml.safe_load(base.read_text(encoding="utf-8")) or {}
    # paths in the file are relative to it; the copy lives elsewhere
    if isinstance(data.get("rules"), str):
        data["rules"] = str((base.parent / data["rules"]).resolve())
    catalogue = data.get("catalogue")
    if isinstance(catalogue, dict) and isinstance(catalogue.get("path"), str):
        catalogue["path"] = str((base.parent / catalogue["path"]).resolve())
    database = traffic.build_mmdb(work / "bench-city.mmdb", traffic.plan_geo())
    data["geo"] = {**(data.get("geo") or {}), "database": str(database)}
    data["state"] = {**(data.get("state") or {}), "secret_keys": [traffic.SECRET]}
    events = data.get("events") or {}
    if isinstance(events, dict) and events.get("sink", "file") == "file":  # as shipped, but not into the repository
        data["events"] = {**events, "sink": "file", "path": str(work / "events.jsonl")}
    config = work / "smalldata.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


def cold_requests(geo: traffic.GeoPlan, count: int, seed: int = 99) -> list[traffic.Request]:
    """New visitors, each with a User-Agent and an address no earlier request used."""
    rng = random.Random(seed)
    real = traffic.real_user_agents()
    requests = []
    for n in range(count):
        agent = traffic.build_variant(real[n % len(real)], 900_000 + n) or f"{real[n % len(real)]} Cold/{n}"
        prefix = geo.networks[n % len(geo.networks)][0]
        visitor = traffic.Visitor(user_agent=agent, address=f"{prefix}.{250 - n // 250 % 5}.{n % 250 + 1}",
                                  language=rng.choice(traffic.LANGUAGES))  # fmt: skip
        path = f"/products/{rng.choice(PRODUCTS)}"
        headers = visitor.headers(rng.choice(traffic.REFERRERS))
        requests.append(traffic.Request(path, "", headers, visitor.address, None))
    return requests


def stats(run: inprocess.Paired) -> dict[str, Any]:
    """Percentiles of the paired overhead (ms) and of both sides."""
    overhead = sorted(run.overhead)
    bare = sorted(run.bare)
    with_smalldata = sorted(run.with_smalldata)
    n = len(overhead)
    return {
        "requests": n,
        "p50_ms": _ms(_pct(overhead, 0.50)),
        "p90_ms": _ms(_pct(overhead, 0.90)),
        "p99_ms": _ms(_pct(overhead, 0.99)),
        "max_ms": _ms(overhead[-1]) if n else None,
        "mean_ms": _ms(sum(overhead) / n) if n else None,
        "bare_p50_ms": _ms(_pct(bare, 0.50)),
        "with_smalldata_p50_ms": _ms(_pct(with_smalldata, 0.50)),
        "personalised_share": round(run.personalised / n, 3) if n else None,
        # steadier than milliseconds on a machine whose speed drifts: both sides slow down together
        "p50_to_bare_p50": round(_pct(overhead, 0.50) / _pct(bare, 0.50), 2) if n and bare[0] > 0 else None,
        "errors": run.errors,
    }


def _pct(values: list[int] | list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(values[min(int(q * len(values)), len(values) - 1)])


def _ms(ns: float) -> float:
    return round(ns / 1e6, 4)


def _progress(what: str) -> None:
    print(f"… {what}", file=sys.stderr, flush=True)


# -- machine ---------------------------------------------------------------------------------

PACKAGES = ("smalldata", "starlette", "uvicorn", "jinja2", "pydantic", "user-agents", "ua-parser", "ua-parser-rs",
            "maxminddb", "cachetools", "growthbook", "fake-useragent", "mmdb-writer")  # fmt: skip


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
        "wrk": _wrk_version(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _wrk_version() -> str | None:
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else None


# -- output ----------------------------------------------------------------------------------


def table(report: dict[str, Any]) -> str:
    """The terminal summary."""
    lines = [f"smalldata bench — {report['machine']['cpu']}, {report['machine']['cores']} cores, "
             f"Python {report['machine']['python']}", ""]  # fmt: skip
    head = (f"{'overhead per HTML request (ms)':<40}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'bare p50':>10}"
            f"{'÷ bare':>8}{'pers.':>7}")
    lines += [head, "-" * len(head)]
    rows = [(ROW_LABELS.get(k, f"{k} rules"), v) for k, v in report["overhead"].items()]
    rows += [(f"100 rules, {label} page", v) for label, v in report["page_size"].items()]
    rows.append(("cold: new UA + IP + visitor, 100 rules", report["cold"]))
    for label, s in rows:
        lines.append(f"{label:<40}{s['p50_ms']:>8.3f}{s['p90_ms']:>8.3f}{s['p99_ms']:>8.3f}{s['max_ms']:>8.2f}"
                     f"{s['bare_p50_ms']:>10.3f}{_times(s.get('p50_to_bare_p50')):>8}"
                     f"{s['personalised_share']:>7.0%}")  # fmt: skip
    phases = report.get("phases", {})
    if phases:
        shares = ", ".join(f"{k} {v:.0%} ({phases['mean_us'][k]:.0f} µs)" for k, v in phases["share"].items())
        lines += ["", f"where 100 rules' overhead goes: {shares}"]
        signals = ", ".join(f"{k} {v:.0f}" for k, v in phases["signals_by_namespace_us"].items())
        lines.append(f"signal providers (µs per request): {signals}")
    tp = report.get("throughput", {})
    if "ratio" in tp:
        lines += ["", f"throughput behind uvicorn ({tp['generator']}, {tp['connections']} connections, "
                      f"{tp['rounds']}×{tp['seconds']:g} s each):"]  # fmt: skip
        for variant in ("bare", "smalldata"):
            v = tp[variant]
            lines.append(f"  {variant:<10} {v['rps']:>8.0f} req/s   p50 {v['p50_ms']:.2f} ms  p90 {v['p90_ms']:.2f} ms"
                         f"  p99 {v['p99_ms']:.2f} ms  errors {v['errors']}")  # fmt: skip
        lines.append(f"  ratio      {tp['ratio']:.1%} of bare")
        cost = tp.get("cost")
        if cost:
            lines.append(f"  server time per request: bare {cost['bare_ms']:.3f} ms, with smalldata "
                         f"{cost['smalldata_ms']:.3f} ms (+{cost['overhead_ms']:.3f} ms); 90 % of bare allows "
                         f"+{cost['allowed_overhead_ms']:.3f} ms on this shop")  # fmt: skip
    elif tp:
        lines += ["", f"throughput: not measured ({tp.get('error')})"]
    p = report.get("peers", {})
    if p:
        lines += ["", f"condition evaluation ({p['conditions']} conditions × {p['contexts']} contexts): smalldata "
                      f"{p['smalldata_ns']:.0f} ns, GrowthBook {p['growthbook_ns']:.0f} ns per evaluation — "
                      f"{p['speedup']:.1f}× (answers agree {p['agreement']:.1%})"]  # fmt: skip
    lines += ["", "budget (SPEC §5):"]
    for result in report.get("budgets", []):
        measured = "—" if result["measured"] is None else f"{result['measured']:g} {result['unit']}"
        lines.append(f"  {'ok  ' if result['ok'] else 'FAIL'} {result['name']}: {measured} (budget {result['budget']})")
    return "\n".join(lines)


def _times(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}×"


def _plot(report: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    counts = [n for n in RULE_COUNTS if str(n) in report["overhead"]]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for key, style in (("p50_ms", "o-"), ("p90_ms", "s--"), ("p99_ms", "^:")):
        ax.plot(counts, [report["overhead"][str(n)][key] for n in counts], style, label=key.replace("_ms", ""))
    ax.plot([100], [0.1], "kx", markersize=9, label="budget p50 (100 rules)")
    ax.plot([100], [0.5], "k+", markersize=11, label="budget p99 (100 rules)")
    ax.plot([1000], [0.3], "k*", markersize=9, label="budget p50 (1,000 rules)")
    ax.set_xscale("log")
    ax.set_xlabel("rules")
    ax.set_ylabel("overhead per HTML request (ms)")
    ax.set_title(f"smalldata overhead vs rule count ({report['machine']['cores']} cores, paired in-process)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
