"""The shop gate's results for people (a table), for machines (JSON) and for CI (JUnit XML, Markdown)."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import quoteattr

from smalldata.tools.bench.verdict import BROKEN, CONFIDENCE, INCONCLUSIVE

ROW_FIGURES = (("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("mean", "mean"), ("bare_p50", "page p50"),
               ("callables", "in callables"))


def _value(entry: dict[str, Any], key: str = "measured") -> str:
    value = entry[key]
    return f"{value:.1%}" if entry["unit"] == "%" else f"{value:.3f} ms"


def _interval(entry: dict[str, Any]) -> str:
    if entry["unit"] == "%":
        return f"{entry['low']:.1%}–{entry['high']:.1%}"
    return f"{entry['low']:.3f}–{entry['high']:.3f} ms"


def headline(result: dict[str, Any]) -> list[str]:
    rules = result["rules"]
    m = result["machine"]
    plan = result["plan"]
    where = f"{rules['path']} ({rules['count']} rules, {rules['tests']} rule tests)"
    return [f"smalldata bench — the shop's gate: {where}" + (f", {result['config']}" if result.get("config") else ""),
            f"{m['cpu']}, {m['cores']} cores, Python {m['python']}; {result['rounds']} rounds of {plan['pairs']} "
            f"paired requests per row in {result['seconds']:.1f} s{' (quick)' if plan.get('quick') else ''}"]


def table(result: dict[str, Any]) -> str:
    """The terminal summary: the rows' figures, then each budget with its verdict."""
    lines = headline(result)
    if result.get("callables"):
        lines.append(f"the shop's callables, timed apart: {', '.join(result['callables'])}")
    head = f"{'overhead per page, ms (median of rounds)':<42}" + "".join(f"{label:>13}" for _, label in ROW_FIGURES)
    lines += ["", head, "-" * len(head)]
    for label, row in result["rows"].items():
        cells = "".join(f"{row[key]['median']:>13.3f}" for key, _ in ROW_FIGURES)
        lines.append(f"{label[:41]:<42}{cells}")
    lines.append(f"{'errors / personalised':<42}" + ", ".join(
        f"{row['errors']} / {row['personalised_share']:.0%}" for row in result["rows"].values()))
    if result["budgets"]:
        lines += ["", f"{'budget':<18}{'measured':>14}  {f'{CONFIDENCE:.0%} interval':<22}{'limit':<36}verdict"]
        for entry in result["budgets"]:
            lines.append(f"{entry['name']:<18}{_value(entry):>14}  {_interval(entry):<22}{'≤ ' + entry['budget']:<36}"
                         f"{entry['verdict'].upper() if entry['verdict'] != 'holds' else 'holds'}")
    else:
        lines += ["", "no budgets: give --budget p50=1ms (or bench: budget: in smalldata.yaml) to gate on them"]
    return "\n".join(lines)


def broken_lines(result: dict[str, Any]) -> list[str]:
    """One line per broken budget (``BUDGET BROKEN: name: measured X, budget Y``), then the inconclusive ones."""
    lines = [f"BUDGET BROKEN: {e['name']}: measured {_value(e)}, budget {e['budget']}"
             for e in result["budgets"] if e["verdict"] == BROKEN]
    lines += [f"BUDGET INCONCLUSIVE: {e['name']}: measured {_value(e)} ({CONFIDENCE:.0%} interval {_interval(e)} "
              f"straddles the budget {e['budget']} after {e['rounds']} rounds)"
              for e in result["budgets"] if e["verdict"] == INCONCLUSIVE]
    return lines


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def junit(result: dict[str, Any]) -> str:
    """JUnit XML: each budget a test case; a broken one a failure, an inconclusive one an error."""
    cases = []
    for e in result["budgets"]:
        name = quoteattr(f"{e['name']} ≤ {e['budget']}")
        figures = (f"measured {_value(e)} (median of {e['rounds']} rounds, {CONFIDENCE:.0%} interval {_interval(e)}), "
                   f"budget {e['budget']}")
        body = ""
        if e["verdict"] == BROKEN:
            body = f"<failure message={quoteattr(figures)} type=\"BudgetBroken\"/>"
        elif e["verdict"] == INCONCLUSIVE:
            body = f"<error message={quoteattr('inconclusive: ' + figures)} type=\"Inconclusive\"/>"
        cases.append(f"  <testcase classname=\"smalldata.tools.bench\" name={name} time=\"0\">{body}</testcase>"
                     if body else f"  <testcase classname=\"smalldata.tools.bench\" name={name} time=\"0\"/>")
    failures = sum(e["verdict"] == BROKEN for e in result["budgets"])
    errors = sum(e["verdict"] == INCONCLUSIVE for e in result["budgets"])
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            f"<testsuite name=\"smalldata bench\" tests=\"{len(cases)}\" failures=\"{failures}\" errors=\"{errors}\" "
            f"time=\"{result['seconds']}\">\n" + "".join(c + "\n" for c in cases) + "</testsuite>\n")


def markdown(result: dict[str, Any]) -> str:
    """A summary for a CI job page (GitHub's job summary, a GitLab merge-request note)."""
    verdict = {"holds": "every budget holds", BROKEN: "a budget is broken", INCONCLUSIVE: "inconclusive"}
    lines = [f"### smalldata bench: {verdict[result['verdict']]}", "", *[f"{line}  " for line in headline(result)], ""]
    if result["budgets"]:
        lines += ["| budget | measured | interval | limit | verdict |", "|---|---:|---|---|---|"]
        lines += [f"| {e['name']} | {_value(e)} | {_interval(e)} | ≤ {e['budget']} | {e['verdict']} |"
                  for e in result["budgets"]]
        lines.append("")
    lines += ["| overhead per page, ms | " + " | ".join(label for _, label in ROW_FIGURES) + " |",
              "|---|" + "---:|" * len(ROW_FIGURES)]
    lines += [f"| {label} | " + " | ".join(f"{row[key]['median']:.3f}" for key, _ in ROW_FIGURES) + " |"
              for label, row in result["rows"].items()]
    return "\n".join(lines) + "\n"
