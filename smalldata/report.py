"""``smalldata report EVENTS.jsonl``: how each experiment's variants convert, and whether it is real yet.

Per experiment and variant:

- **visitors**: distinct visitors exposed to it (forced preview exposures left out;
  a visitor counts in the variant they were first exposed to);
- **conversions**: distinct exposed visitors with a ``conversion`` event at or after
  their first exposure;
- **rate** with a 95 % Wilson score interval (sound for small counts and rates near 0);
- versus the baseline (``control`` when there is one, else the first variant by
  name): the relative lift and a two-sided, pooled two-proportion z-test p-value.

A difference is called significant only when p < 0.05 *and* both arms have at
least :data:`MIN_COUNT` conversions and non-conversions (below that the normal
approximation behind the z-test is not trustworthy); otherwise the report says
"not yet significant".
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any, TextIO

from smalldata.dates import to_moment

Z95 = 1.959963984540054
ALPHA = 0.05
MIN_COUNT = 5
CONTROL = "control"


@dataclass
class VariantResult:
    """One arm of an experiment."""

    name: str
    visitors: int
    conversions: int
    rate: float
    ci_low: float
    ci_high: float
    value: float = 0.0
    lift: float | None = None
    p_value: float | None = None
    verdict: str = ""


@dataclass
class ExperimentResult:
    """One experiment: its baseline and every variant, the baseline first."""

    key: str
    baseline: str
    variants: list[VariantResult]


@dataclass
class Report:
    """What ``summarise`` found in a stream of events."""

    experiments: list[ExperimentResult] = field(default_factory=list)
    events: int = 0
    forced_left_out: int = 0
    conversions_without_exposure: int = 0
    # conversions by where they came from ("server", "browser"); a browser's left out for the server's order
    conversion_sources: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -- statistics --------------------------------------------------------------------------------


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion; ``(0, 0)`` for no trials."""
    if trials == 0:
        return 0.0, 0.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; None when it cannot be computed."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0  # both arms all-or-nothing alike: no evidence of a difference
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


# -- counting ----------------------------------------------------------------------------------


@dataclass
class _Conversion:
    order: tuple[float, int]
    value: float
    order_id: str | None
    source: str = "browser"


def summarise(events: Iterable[Mapping[str, Any]]) -> Report:
    """Count exposures and conversions per experiment and variant (pure; events in file order)."""
    report = Report()
    first: dict[tuple[str, str], tuple[str, tuple[float, int]]] = {}
    conversions: dict[str, list[_Conversion]] = {}
    server_orders: set[str] = set()  # the shop's server recorded these: no browser's post of them counts
    for index, event in enumerate(events):
        report.events += 1
        kind, visitor = event.get("type"), event.get("visitor")
        if kind == "conversion":
            source = "server" if event.get("source") == "server" else "browser"
            report.conversion_sources[source] = report.conversion_sources.get(source, 0) + 1
            if source == "server" and isinstance(event.get("order_id"), str):
                server_orders.add(event["order_id"])
        if not isinstance(visitor, str) or not visitor:
            continue
        order = (_timestamp(event.get("at")), index)
        if kind == "exposure":
            if event.get("forced") is True:
                report.forced_left_out += 1
                continue
            experiment, variant = event.get("experiment"), event.get("variant")
            if isinstance(experiment, str) and isinstance(variant, str):
                key = (experiment, visitor)
                if key not in first or order < first[key][1]:
                    first[key] = (variant, order)
        elif kind == "conversion":
            value = event.get("value")
            amount = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
            order_id = event.get("order_id") if isinstance(event.get("order_id"), str) else None
            source = "server" if event.get("source") == "server" else "browser"
            conversions.setdefault(visitor, []).append(_Conversion(order, amount, order_id, source))
    for visitor, theirs in conversions.items():
        conversions[visitor] = [c for c in theirs if c.source == "server" or c.order_id not in server_orders]
    exposed_visitors = {visitor for _, visitor in first}
    report.conversions_without_exposure = sum(len(c) for v, c in conversions.items() if v not in exposed_visitors)
    report.experiments = _experiments(first, conversions)
    return report


def _timestamp(value: Any) -> float:
    """Seconds since the epoch, or -inf when unknown (then file order decides)."""
    moment = to_moment(value, UTC) if isinstance(value, str) else None
    return moment.timestamp() if moment is not None else -math.inf


def _experiments(
    first: Mapping[tuple[str, str], tuple[str, tuple[float, int]]], conversions: Mapping[str, list[_Conversion]]
) -> list[ExperimentResult]:
    arms: dict[str, dict[str, list[int | float]]] = {}  # experiment → variant → [visitors, converted, value]
    for (experiment, visitor), (variant, exposed_at) in first.items():
        counts = arms.setdefault(experiment, {}).setdefault(variant, [0, 0, 0.0])
        counts[0] += 1
        after = [c for c in conversions.get(visitor, ()) if c.order >= exposed_at]
        if after:
            counts[1] += 1
            counts[2] += _value(after)
    return [_experiment(key, variants) for key, variants in sorted(arms.items())]


def _value(conversions: list[_Conversion]) -> float:
    orders: dict[str, float] = {}
    loose = 0.0
    for conversion in conversions:
        if conversion.order_id is None:
            loose += conversion.value
        else:
            orders[conversion.order_id] = conversion.value  # a re-sent order counts once
    return loose + sum(orders.values())


def _experiment(key: str, variants: Mapping[str, list[int | float]]) -> ExperimentResult:
    names = sorted(variants, key=lambda name: (name != CONTROL, name))
    baseline = names[0]
    results = []
    for name in names:
        visitors, converted, value = int(variants[name][0]), int(variants[name][1]), float(variants[name][2])
        low, high = wilson_interval(converted, visitors)
        results.append(VariantResult(name, visitors, converted, converted / visitors if visitors else 0.0,
                                     low, high, round(value, 2)))  # fmt: skip
    base = results[0]
    base.verdict = "baseline"
    for result in results[1:]:
        _compare(result, base)
    return ExperimentResult(key, baseline, results)


def _compare(result: VariantResult, base: VariantResult) -> None:
    result.p_value = two_proportion_p_value(result.conversions, result.visitors, base.conversions, base.visitors)
    result.lift = (result.rate - base.rate) / base.rate if base.rate > 0 else None
    enough = all(
        count >= MIN_COUNT
        for arm in (result, base)
        for count in (arm.conversions, arm.visitors - arm.conversions)
    )
    if not enough:
        result.verdict = f"not yet significant (too few conversions: need {MIN_COUNT}+ per variant)"
    elif result.p_value is None or result.p_value >= ALPHA:
        result.verdict = "not yet significant"
    else:
        result.verdict = "significant: " + ("better" if result.rate > base.rate else "worse")


# -- reading and printing ----------------------------------------------------------------------


def read_events(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The events of a JSON-lines file, and ``file:line: message`` for each line that is not one."""
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    with Path(path).open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                problems.append(f"{path}:{number}: not a JSON event (a torn write?); skipped")
                continue
            if isinstance(event, dict):
                events.append(event)
            else:
                problems.append(f"{path}:{number}: not a JSON object; skipped")
    return events, problems


def format_report(report: Report) -> str:
    """The report as a table for people."""
    if not report.experiments:
        return f"No experiment exposures in {report.events} events.\n"
    out: list[str] = []
    for experiment in report.experiments:
        out.append(f"Experiment {experiment.key} (baseline: {experiment.baseline})")
        out.append(f"  {'variant':<16}{'visitors':>9}{'conversions':>13}{'rate':>9}  {'95% CI':<18}  vs baseline")
        for v in experiment.variants:
            ci = f"[{v.ci_low:.2%}, {v.ci_high:.2%}]"
            versus = v.verdict if v.p_value is None else _versus(v)
            out.append(f"  {v.name:<16}{v.visitors:>9}{v.conversions:>13}{v.rate:>9.2%}  {ci:<18}  {versus}")
        out.append("")
    notes = []
    if report.forced_left_out:
        count = report.forced_left_out
        notes.append(f"{count} forced (preview) exposure{'' if count == 1 else 's'} left out")
    if report.conversions_without_exposure:
        notes.append(f"{report.conversions_without_exposure} conversions by visitors in no experiment")
    sources = report.conversion_sources
    if sources.get("server"):  # older event files have browsers' conversions only: no note for them
        notes.append(f"conversions from the shop's server: {sources['server']}, from browsers: "
                     f"{sources.get('browser', 0)} (a browser's for an order the server recorded left out)")
    if notes:
        out.append("; ".join(notes) + ".")
    return "\n".join(out).rstrip("\n") + "\n"


def _versus(v: VariantResult) -> str:
    lift = f"{v.lift:+.1%}, " if v.lift is not None else ""
    return f"{lift}p={v.p_value:.3f}, {v.verdict}"


def report_main(path: str, *, json_output: bool, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """The ``smalldata report`` verb: 0 when the file was read, 1 when it could not be."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        events, problems = read_events(path)
    except OSError as exc:
        print(f"{path}: cannot read events: {exc.strerror}", file=err)
        return 1
    for problem in problems:
        print(problem, file=err)
    report = summarise(events)
    if json_output:
        json.dump(report.to_json(), out, indent=2)
        out.write("\n")
    else:
        out.write(format_report(report))
    return 0
