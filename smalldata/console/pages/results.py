"""The Tests page (the rule files' ``tests:``) and the Experiments page (``smalldata report``'s figures)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from smalldata.console.chart import ChartTexts, chart, percent
from smalldata.console.pages.common import console, language, render
from smalldata.console.problems import problem_views
from smalldata.console.texts import texts
from smalldata.report import MIN_COUNT, ExperimentResult, VariantResult, read_events, summarise
from smalldata.rules.testing import run_tests


async def tests_page(request: Request) -> Response:
    """``/tests``: every test of the rule files, run now; the failing ones first, with their differences."""
    state = console(request)
    workspace = state.workspace
    checked = workspace.check()
    problems = problem_views(checked.errors, workspace)
    if checked.ruleset is None:
        return render(request, "tests.html", "tests", results=[], failed=[], problems=problems, seconds=0.0,
                      name_of=workspace.name_of)  # fmt: skip
    started = time.perf_counter()
    results = run_tests(checked.ruleset, state.settings)
    seconds = time.perf_counter() - started
    failed = [result for result in results if not result.passed]
    return render(request, "tests.html", "tests", results=results, failed=failed, problems=problems,
                  seconds=seconds, name_of=workspace.name_of)  # fmt: skip


def verdict(variant: VariantResult, t: dict[str, str]) -> str:
    """``report``'s verdict in the interface language."""
    words = variant.verdict
    if words == "baseline":
        return t["verdict_baseline"]
    if words.startswith("not yet significant (too few"):
        return t["verdict_too_few"].format(count=MIN_COUNT)
    if words.startswith("not yet significant"):
        return t["verdict_not_yet"]
    if words == "significant: better":
        return t["verdict_better"]
    if words == "significant: worse":
        return t["verdict_worse"]
    return words


def sentence(experiment: ExperimentResult, variant: VariantResult, t: dict[str, str]) -> str:
    """One variant against the baseline, in words: rates, interval, lift, p and the verdict."""
    base = experiment.variants[0]
    text = t["variant_sentence"].format(name=variant.name, rate=percent(variant.rate), low=percent(variant.ci_low),
                                        high=percent(variant.ci_high), visitors=variant.visitors,
                                        conversions=variant.conversions)  # fmt: skip
    if variant is base:
        return f"{text}."
    versus = t["versus_baseline"].format(base=base.name, rate=percent(base.rate))
    if variant.lift is not None:
        versus += f", {variant.lift:+.1%}".replace("%", " %")
    if variant.p_value is not None:
        versus += f", p = {variant.p_value:.3f}"
    return f"{text} {versus}: {verdict(variant, t)}."


async def experiments_page(request: Request) -> Response:
    """``/experiments``: per experiment and variant, the report's figures, a chart and the verdict in words."""
    state = console(request)
    t = texts(language(request))
    checked = state.workspace.check()
    defined = {}
    if checked.ruleset is not None:
        defined = {rule.experiment.key: rule for rule in checked.ruleset.rules if rule.experiment is not None}
    context: dict[str, Any] = {"events": state.events, "defined": defined, "results": [], "read_problems": [],
                               "missing": False, "report": None}
    if state.events is None or not state.events.is_file():
        return render(request, "experiments.html", "experiments", **{**context, "missing": True})
    events, read_problems = read_events(state.events)
    report = summarise(events)
    results = []
    for index, experiment in enumerate(report.experiments):
        words = [sentence(experiment, variant, t) for variant in experiment.variants]
        texts_ = ChartTexts(t["chart_title"].format(key=experiment.key), " ".join(words))
        results.append({"experiment": experiment, "chart": chart(experiment, texts_, f"chart-{index}"),
                        "words": words, "verdicts": {v.name: verdict(v, t) for v in experiment.variants}})
    return render(request, "experiments.html", "experiments",
                  **{**context, "results": results, "read_problems": read_problems, "report": report})
