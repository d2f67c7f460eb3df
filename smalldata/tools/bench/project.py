"""``smalldata bench``: run the suite, print a table, write the JSON report and the plot, check the budget.

The figures (see ``benchmarks/README.md``), per-request ones in ms and in S (the
median request to a bare Starlette app serving a 20 KB page, measured in the same run):

1. S itself, and the overhead per HTML request on a bare 20 KB Starlette page, paired with
   and without ``SmallData``: one rule that never matches (the fixed cost of every page),
   the shipped rules, 10, 100 and 1,000 generated rules;
2. the cold case: a never-seen User-Agent and IP, a new visitor, 100 rules;
3. page size: 5 KB, 100 KB and 1 MB pages with 100 rules;
4. the example shop with its shipped rules (informative: it includes the shop's own work
   of showing what was decided), and the floor (``floor.py``: a minimal hand-written
   middleware doing the essential work) on the fixed-cost, 100- and 1,000-rule sets;
5. where the 100-rule overhead goes, phase by phase;
6. throughput behind uvicorn with 100 rules, on a page rendered by Jinja2 (~2.5 ms) and on
   the bare 20 KB page;
7. smalldata against GrowthBook: condition evaluation, and a whole decision per request.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smalldata.tools.bench import djangopage, floor, inprocess, peers, phases, throughput, traffic
from smalldata.tools.bench import gate as budget
from smalldata.tools.bench.machine import machine
from smalldata.tools.bench.machine import version as _version
from smalldata.tools.bench.rulegen import PRODUCTS, write_ruleset

REPO = Path(__file__).resolve().parents[3]  # smalldata's source checkout (this suite needs its example shop)
SHIPPED_RULES = REPO / "rules"
RESULTS = REPO / "benchmarks" / "results"
RULE_COUNTS = (10, 100, 1000)
# One rule that no page matches: what every page pays before any rule can help (consent, the
# visitor cookie read, verified, counted and written back when it changed, the cache headers).
FIXED_COST_RULES = """\
rules:
  - id: never
    when: {page.path: /no-page-has-this-path}
    then: {greeting: Hello}
"""
_BUILDS_PER_ROW = 1_000_000  # a pool of 5,000 uses at most 100,000 build numbers
OVERHEAD_ROWS = ("fixed", "shipped", "10", "100", "1000")
GATE_ROWS = ("fixed", "100", "1000")  # what --quick measures: the rows the gate's ratios read
ROW_LABELS = {
    "fixed": "fixed cost: 1 rule, never matches",
    "shipped": "the shipped rules/",
    "cold": "cold: new UA + IP + visitor, 100 rules",
    "shop": "example shop, shipped rules (info)",
    "django": "Django page, 100 rules (info)",
}
PAGE_SIZES = {"5KB": 5 * 1024, "100KB": 100 * 1024, "1MB": 1024 * 1024}
FLOOR_ROWS = ("fixed", "100", "1000")  # the hand-written floor (floor.py) on the same rules, for comparison
GEO_DATABASE = "bench-city.mmdb"


@dataclass(frozen=True)
class Plan:
    """How much to measure: the full run or ``--quick``."""

    warmup: int
    requests: int  # measured requests of S and the 100-rule headline figure
    requests_other: int  # for the other rows
    phases: int
    visitors: int
    throughput_seconds: float
    throughput_rounds: int
    peer_contexts: int
    peer_rounds: int
    rounds: int  # turns of the interleaved measurement
    everything: bool  # the informative rows too (10 rules, the shipped rules, page sizes, the shop, static page)


FULL = Plan(warmup=1500, requests=6000, requests_other=3000, phases=2000, visitors=5000, throughput_seconds=3,
            throughput_rounds=10, peer_contexts=100, peer_rounds=9, rounds=10, everything=True)  # fmt: skip
# --quick: the gate's figures only, within 60 s on a 2-core runner
QUICK = Plan(warmup=300, requests=1000, requests_other=1000, phases=300, visitors=800, throughput_seconds=1,
             throughput_rounds=9, peer_contexts=30, peer_rounds=9, rounds=9, everything=False)  # fmt: skip


def main(*, quick: bool = False, check: bool = False, output: str | None = None) -> int:
    """Run the suite; returns 1 when ``check`` and a gate figure is broken, 2 without a source checkout, else 0."""
    from smalldata.tools.bench import BenchUnavailable, require

    try:
        require("fake_useragent", "growthbook", "mmdb_writer", "uvicorn", "jinja2")
    except BenchUnavailable as exc:
        print(f"smalldata bench --suite project: {exc}", file=sys.stderr)
        return 2
    if not (REPO / "examples" / "shop" / "app.py").is_file():
        print("smalldata bench --suite project: smalldata's own suite needs its source checkout (the example shop); "
              "a shop measures itself with `smalldata bench` (docs/qa.md)", file=sys.stderr)
        return 2
    plan = QUICK if quick else FULL
    global _STARTED
    started = _STARTED = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="smalldata-bench-") as work:
        report = asyncio.run(_measure(plan, Path(work)))
        requests = report.pop("_throughput_requests")
        report["throughput"] = _throughput(plan, Path(work), requests, "rendered")
        if plan.everything:
            report["throughput_static"] = _throughput(plan, Path(work), requests, "static")
            report["report_scale"] = _report_scale(Path(work))
    _progress("done")
    report["run"] = {"quick": quick, "seconds": round(time.monotonic() - started, 1), "plan": vars(plan)}
    report["budgets"] = results = budget.check(report)
    out = Path(output) if output else RESULTS / ("quick" if quick else "")
    out.mkdir(parents=True, exist_ok=True)
    name = "latest.json"
    (out / name).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plotted = _plot(report, out / "overhead_vs_rules.png")
    print(table(report))
    print(f"\nreport: {out / name}" + (f"\nplot:   {plotted}" if plotted else ""))
    problems = budget.broken(results)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if check and problems else 0  # inconclusive figures are printed, not failed (gate.py)


# -- measuring -------------------------------------------------------------------------------


async def _measure(plan: Plan, work: Path) -> dict[str, Any]:
    _warm_up_parsers()
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

    rows: dict[str, inprocess.Row] = {"S": inprocess.Row(inprocess.reference_app(), None, mix(0), plan.requests,
                                                         plan.warmup)}  # fmt: skip
    for key in OVERHEAD_ROWS if plan.everything else GATE_ROWS:
        bare, with_smalldata = inprocess.page_pair(rulesets[key], config)
        count = plan.requests if key == "100" else plan.requests_other
        rows[key] = inprocess.Row(bare, with_smalldata, mix(len(rows)), count, plan.warmup)
    bare, with_smalldata = inprocess.page_pair(rulesets["100"], config)
    rows["cold"] = inprocess.Row(bare, with_smalldata, ColdMix(geo), plan.requests_other, plan.warmup // 4)
    for label, size in PAGE_SIZES.items() if plan.everything else ():
        bare, with_smalldata = inprocess.page_pair(rulesets["100"], config, size)
        rows[label] = inprocess.Row(bare, with_smalldata, mix(len(rows)), plan.requests_other, plan.warmup // 4)
    if plan.everything:
        bare, with_smalldata = inprocess.shop_pair(rulesets["shipped"], config)
        rows["shop"] = inprocess.Row(bare, with_smalldata, mix(len(rows)), plan.requests_other, plan.warmup)
    if plan.everything and djangopage.available():  # informative: Django's own ASGI handler, the same page
        from examples.shop.app import shop_settings

        bare, with_smalldata = djangopage.django_pair(rulesets["100"], shop_settings(config))
        rows["django"] = inprocess.Row(bare, with_smalldata, mix(len(rows)), plan.requests_other, plan.warmup)
    for key in FLOOR_ROWS:
        bare, with_floor = floor.floor_pair(rulesets[key], config, work / GEO_DATABASE)
        rows[f"floor-{key}"] = inprocess.Row(bare, with_floor, mix(len(rows)), plan.requests_other, plan.warmup)
    apps = [app for row in rows.values() for app in (row.bare, row.smalldata) if app is not None]
    async with inprocess.running(*apps):
        _progress(f"S, {len(rows) - 1} paired rows, in {plan.rounds} interleaved rounds")
        measured = await inprocess.interleaved(rows, plan.rounds)
    s_ns = _pct(sorted(measured["S"].bare), 0.5)
    report["S"] = {"p50_ms": _ms(s_ns), "p99_ms": _ms(_pct(sorted(measured["S"].bare), 0.99)),
                   "requests": len(measured["S"].bare),
                   "what": "one request to a bare Starlette app serving a 20 KB HTMLResponse, raw ASGI"}  # fmt: skip
    hundred = rows["100"].mix
    assert isinstance(hundred, traffic.Mix)
    report["traffic"] = traffic.describe(hundred, measured["100"].requests)
    report["overhead"] = {key: stats(measured[key], s_ns) for key in OVERHEAD_ROWS if key in measured}
    report["cold"] = stats(measured["cold"], s_ns)
    report["cold"]["what"] = "first request of a never-seen User-Agent and IP, new visitor"
    report["page_size"] = {label: stats(measured[label], s_ns) for label in PAGE_SIZES if label in measured}
    if "django" in measured:
        report["django"] = stats(measured["django"], s_ns)
        report["django"]["what"] = "a minimal Django project (one async view, the 20 KB page), 100 rules"
    if "shop" in measured:
        report["shop"] = stats(measured["shop"], s_ns)
        report["shop"]["what"] = "the example shop with its shipped rules, paired with the same shop without smalldata"
    report["floor"] = {key: stats(measured[f"floor-{key}"], s_ns) for key in FLOOR_ROWS}
    for key, figures in report["floor"].items():
        figures["smalldata_ratio_p50"] = round(report["overhead"][key]["p50_ms"] / figures["p50_ms"], 2)

    _progress("where the 100-rule overhead goes, phase by phase")
    report["phases"] = await phases.measure(rulesets["100"], config, mix(len(rows)), plan.phases, plan.warmup // 2,
                                            s_ns)  # fmt: skip
    report["phases"]["in_flow_mean_us"] = round(report["overhead"]["100"]["mean_ms"] * 1000, 1)
    _progress("peers: GrowthBook")
    report["peers"] = peers.compare(rulesets["1000"], 1000, contexts_count=plan.peer_contexts, rounds=plan.peer_rounds)
    report["peers"]["peer"] = f"growthbook {_version('growthbook')} growthbook.core.evalCondition"
    report["peers"]["engine"] = peers.compare_engines(rulesets["100"], 100, contexts_count=plan.peer_contexts,
                                                      rounds=plan.peer_rounds)  # fmt: skip
    report["peers"]["engine"]["peer"] = f"growthbook {_version('growthbook')} GrowthBook(...).eval_feature"
    throughput_mix = mix(len(rows))
    report["_throughput_requests"] = [throughput_mix.next() for _ in range(1000)]
    return report


def _warm_up_parsers() -> None:
    """Load the User-Agent parser before measuring (a server does it at start-up or on its first page)."""
    from smalldata.signals.device import SOFTWARE

    SOFTWARE.warm_up()


class ColdMix:
    """New visitors, each with a User-Agent and an address no earlier request used (the cold row)."""

    def __init__(self, geo: traffic.GeoPlan, seed: int = 99) -> None:
        self.geo = geo
        self.rng = random.Random(seed)
        self.real = traffic.real_user_agents()
        self.n = 0

    def next(self) -> traffic.Request:
        n, rng, real = self.n, self.rng, self.real
        self.n += 1
        agent = traffic.build_variant(real[n % len(real)], 900_000 + n) or f"{real[n % len(real)]} Cold/{n}"
        prefix = self.geo.networks[n % len(self.geo.networks)][0]
        visitor = traffic.Visitor(user_agent=agent, address=f"{prefix}.{250 - n // 250 % 250}.{n % 250 + 1}",
                                  language=rng.choice(traffic.LANGUAGES))  # fmt: skip
        headers = visitor.headers(rng.choice(traffic.REFERRERS))
        return traffic.Request(f"/products/{rng.choice(PRODUCTS)}", "", headers, visitor.address, None)


def _fixed_cost_rules(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fixed.yaml").write_text(FIXED_COST_RULES, encoding="utf-8")
    return folder


def _throughput(plan: Plan, work: Path, requests: list[traffic.Request], page: str) -> dict[str, Any]:
    _progress(f"throughput behind uvicorn, 100 rules, {page} page")
    rules = work / "rules-100"
    config = work / "smalldata.yaml"
    try:
        return throughput.measure(rules, config, requests, seconds=plan.throughput_seconds,
                                  rounds=plan.throughput_rounds, work=work, page=page)  # fmt: skip
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return {"page": page, "error": f"{type(exc).__name__}: {exc}"}


def _report_scale(work: Path) -> dict[str, Any]:
    """``smalldata report`` over 10 million events on DuckDB (``benchmarks/report_scale.py``, in its own processes)."""
    _progress("the report over 10 million events")
    try:
        import duckdb  # noqa: F401  (the analysis extra)
    except ImportError:
        return {"error": "needs the analysis extra (pip install 'smalldata[analysis]')"}
    figures = work / "report_scale.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.report_scale", "--json", str(figures)], cwd=REPO,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode or not figures.is_file():
        last = (done.stderr or done.stdout).strip().splitlines()
        return {"error": last[-1] if last else f"exit {done.returncode}"}
    result: dict[str, Any] = json.loads(figures.read_text())
    return result


def _setup_geo(work: Path) -> Path:
    """The shop's own settings, plus a GeoIP2 City database built for the run and the cookie key."""
    import yaml

    from smalldata.tools.demo import load_app

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
    database = traffic.build_mmdb(work / GEO_DATABASE, traffic.plan_geo())
    data["geo"] = {**(data.get("geo") or {}), "database": str(database)}
    data["state"] = {**(data.get("state") or {}), "secret_keys": [traffic.SECRET]}
    events = data.get("events") or {}
    if isinstance(events, dict) and events.get("sink", "file") == "file":  # as shipped, but not into the repository
        data["events"] = {**events, "sink": "file", "path": str(work / "events.jsonl")}
    config = work / "smalldata.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


def stats(run: inprocess.Paired, s_ns: float | None = None) -> dict[str, Any]:
    """Percentiles of the paired overhead (ms, and in S when ``s_ns`` is given) and of both sides."""
    overhead = sorted(run.overhead)
    bare = sorted(run.bare)
    with_smalldata = sorted(run.with_smalldata)
    n = len(overhead)
    figures: dict[str, Any] = {
        "requests": n,
        "p50_ms": _ms(_pct(overhead, 0.50)),
        "p90_ms": _ms(_pct(overhead, 0.90)),
        "p99_ms": _ms(_pct(overhead, 0.99)),
        "max_ms": _ms(overhead[-1]) if n else None,
        "mean_ms": _ms(sum(overhead) / n) if n else None,
        "bare_p50_ms": _ms(_pct(bare, 0.50)),
        "with_smalldata_p50_ms": _ms(_pct(with_smalldata, 0.50)),
        "personalised_share": round(run.personalised / n, 3) if n else None,
        "errors": run.errors,
        "p50_rounds_ms": [_ms(v) for v in run.round_p50],
    }
    if s_ns:
        for q in ("p50", "p90", "p99"):
            figures[f"{q}_s"] = round(_pct(overhead, int(q[1:]) / 100) / s_ns, 2) if n else None
        figures["max_s"] = round(overhead[-1] / s_ns, 2) if n else None
        figures["bare_p50_s"] = round(_pct(bare, 0.5) / s_ns, 2) if n else None
    return figures


def _pct(values: list[int] | list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(values[min(int(q * len(values)), len(values) - 1)])


def _ms(ns: float) -> float:
    return round(ns / 1e6, 4)


_STARTED = time.monotonic()


def _progress(what: str) -> None:
    if sys.stderr.isatty():  # a progress line on a terminal; a CI log gets the table only
        print(f"… {time.monotonic() - _STARTED:5.1f} s  {what}", file=sys.stderr, flush=True)


# -- output ----------------------------------------------------------------------------------


def table(report: dict[str, Any]) -> str:
    """The terminal summary."""
    machine_ = report["machine"]
    lines = [f"smalldata bench — {machine_['cpu']}, {machine_['cores']} cores, Python {machine_['python']}"]
    s_figures = report.get("S")
    if s_figures:
        lines.append(f"S = {s_figures['p50_ms'] * 1000:.1f} µs (bare Starlette, 20 KB page, raw ASGI, p50)")
    head = (f"{'overhead per HTML request':<42}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'p50 S':>8}{'p99 S':>8}"
            f"{'pers.':>7}")
    lines += ["", head, "-" * len(head)]
    rows = [(ROW_LABELS.get(k, f"{k} rules"), v) for k, v in report["overhead"].items()]
    rows += [(ROW_LABELS["cold"], report["cold"])] if "cold" in report else []
    rows += [(f"100 rules, {label} page", v) for label, v in report.get("page_size", {}).items()]
    rows += [(ROW_LABELS["shop"], report["shop"])] if "shop" in report else []
    rows += [(ROW_LABELS["django"], report["django"])] if "django" in report else []
    rows += [(f"floor: {ROW_LABELS.get(k, f'{k} rules').partition(',')[0]} (info)", v)
             for k, v in report.get("floor", {}).items()]  # fmt: skip
    for label, s in rows:
        lines.append(f"{label:<42}{s['p50_ms']:>8.3f}{s['p99_ms']:>8.3f}{s['max_ms']:>8.2f}"
                     f"{_s(s.get('p50_s')):>8}{_s(s.get('p99_s')):>8}{s['personalised_share']:>7.0%}")  # fmt: skip
    floors = report.get("floor", {})
    if floors:
        ratios = ", ".join(f"{ROW_LABELS.get(k, f'{k} rules').partition(':')[0]} {v['smalldata_ratio_p50']:.1f}×"
                           for k, v in floors.items())  # fmt: skip
        lines.append(f"smalldata ÷ floor (p50): {ratios}")
    phases = report.get("phases", {})
    if phases:
        lines += ["", "where the 100-rule overhead goes (mean per request, one step at a time):"]
        for name, us in phases["mean_us"].items():
            label = phases["labels"].get(name, name)
            lines.append(f"  {label:<48}{us:>8.1f} µs{_s(phases['mean_s'].get(name)):>7} S")
        lines.append(f"  {'sum of the steps':<48}{phases['total_mean_us']:>8.1f} µs{_s(phases['total_mean_s']):>7} S")
        if "in_flow_mean_us" in phases:
            lines.append(f"  {'the whole middleware, in flow (100 rules row)':<48}{phases['in_flow_mean_us']:>8.1f} µs")
    for key, title in (("throughput", "rendered page (~2.5 ms)"), ("throughput_static", "bare 20 KB page (info)")):
        tp = report.get(key, {})
        if "ratio" in tp:
            lines += ["", f"throughput behind uvicorn, 100 rules, {title} ({tp['generator']}, {tp['connections']} "
                          f"connections, {tp['rounds']}×{tp['seconds']:g} s each):"]  # fmt: skip
            for variant in ("bare", "smalldata"):
                v = tp[variant]
                lines.append(f"  {variant:<10} {v['rps']:>8.0f} req/s   p50 {v['p50_ms']:.2f} ms"
                             f"  p99 {v['p99_ms']:.2f} ms  errors {v['errors']}")  # fmt: skip
            low, high = tp.get("ratio_interval", (tp["ratio"], tp["ratio"]))
            capped = " (above 100 % is noise: read as 100 %)" if tp.get("ratio_measured", 0) > 1 else ""
            lines.append(f"  ratio      {tp['ratio']:.1%} of bare, median of {len(tp.get('ratio_rounds', []))} "
                         f"turns (interval {low:.1%}–{high:.1%}){capped}")
        elif tp:
            lines += ["", f"throughput ({title}): not measured ({tp.get('error')})"]
    scale = report.get("report_scale", {})
    lines += [""] if scale else []
    for run in scale.get("runs", []):
        if run["engine"] == "duckdb":
            lines.append(f"smalldata report, {run['events']:,} events from {run['input']} on DuckDB: "
                         f"{run['seconds']:.1f} s, peak memory {run['peak_bytes'] / 2**20:,.0f} MB")  # fmt: skip
    if "error" in scale:
        lines.append(f"smalldata report over 10 million events: not measured ({scale['error']})")
    p = report.get("peers", {})
    if p:
        lines += ["", f"condition evaluation ({p['conditions']} conditions × {p['contexts']} contexts): smalldata "
                      f"{p['smalldata_ns']:.0f} ns, GrowthBook {p['growthbook_ns']:.0f} ns per evaluation — "
                      f"{p['speedup']:.1f}× (answers agree {p['agreement']:.1%})"]  # fmt: skip
        engine = p.get("engine")
        if engine:
            lines.append(f"a decision ({engine['rules']} rules, new context each): smalldata "
                         f"{engine['smalldata_us']:.0f} µs, GrowthBook {engine['growthbook_us']:.0f} µs — "
                         f"{engine['speedup']:.1f}×")  # fmt: skip
    lines += ["", *gate_table(report.get("budgets", []))]
    return "\n".join(lines)


def gate_table(results: list[dict[str, Any]]) -> list[str]:
    """The project's gate and targets (benchmarks/README.md): each ratio's median, its interval, its verdict."""
    head = f"{'gate, ratios in the same rounds':<52}{'measured':>9}  {'95 % interval':<16}{'gate':<16}" \
           f"{'verdict':<14}target"
    lines = [head, "-" * len(head)]
    for r in results:
        interval = f"{budget.show(r, 'low')}–{budget.show(r, 'high')}" if r["measured"] is not None else "—"
        target = "" if r["target"] is None else f"{r['target']} {'met' if r['target_met'] else 'not yet'}"
        verdict = {"holds": "ok", "broken": "BROKEN", "inconclusive": "inconclusive"}[r["verdict"]]
        lines.append(f"{r['name']:<52}{budget.show(r):>9}  {interval:<16}{r['gate']:<16}{verdict:<14}{target}")
    return lines


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _plot(report: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    counts = [n for n in RULE_COUNTS if str(n) in report["overhead"] and "p50_s" in report["overhead"][str(n)]]
    if not counts:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for key, style in (("p50_s", "o-"), ("p90_s", "s--"), ("p99_s", "^:")):
        ax.plot(counts, [report["overhead"][str(n)][key] for n in counts], style, label=key.replace("_s", ""))
    ax.set_xscale("log")
    ax.set_xlabel("rules")
    ax.set_ylabel("overhead per HTML request (S = one bare Starlette request)")
    ax.set_title(f"smalldata overhead vs rule count ({report['machine']['cores']} cores, paired in-process)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
