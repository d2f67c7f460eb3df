"""The Tests page (the rule files' ``tests:``) and the Experiments page (``smalldata report``'s figures)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from smalldata.rules.testing import run_tests
from smalldata.tools.console.chart import ChartTexts, chart, percent
from smalldata.tools.console.pages.common import console, language, render
from smalldata.tools.console.problems import problem_views
from smalldata.tools.console.texts import texts
from smalldata.tools.report import (
    LIFT,
    MIN_COUNT,
    ExperimentResult,
    VariantResult,
    backups_of,
    summarise_paths,
    weights_of,
)


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


#: This page's words for the split check, revenue per visitor and the visitors still needed (kept beside the
#: page that shows them; the interface's other texts are in texts/<language>.yaml).
STATS_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "value_per_visitor": "Value per visitor",
        "split_mismatch_title": "Sample ratio mismatch: do not trust these results",
        "split_mismatch": "The weights say {expected}, but the visitors split {observed} (p = {p}, below 0.001: "
                          "chance would almost never do this). Something other than the weights decides who sees "
                          "what (a variant that redirects or fails to load, bots, lost exposures, weights changed "
                          "during the test). Find the cause and start the experiment again.",
        "split_unchecked": "The split was not checked: this experiment's weights are not in the rules.",
        "needed": "about {count} more visitors per variant to see a {lift} lift",
        "value_sentence": "{value} per visitor ({low}–{high})",
    },
    "da": {
        "value_per_visitor": "Værdi pr. besøgende",
        "split_mismatch_title": "Skæv fordeling af besøgende: stol ikke på disse resultater",
        "split_mismatch": "Vægtene siger {expected}, men de besøgende fordelte sig {observed} (p = {p}, under 0,001: "
                          "tilfældet gør næsten aldrig dette). Noget andet end vægtene afgør, hvem der ser hvad (en "
                          "variant der omdirigerer eller ikke indlæses, robotter, tabte eksponeringer, vægte ændret "
                          "undervejs). Find årsagen og start eksperimentet forfra.",
        "split_unchecked": "Fordelingen er ikke tjekket: eksperimentets vægte står ikke i reglerne.",
        "needed": "omkring {count} besøgende mere pr. variant for at se en forbedring på {lift}",
        "value_sentence": "{value} pr. besøgende ({low}–{high})",
    },
}  # fmt: skip


def split_message(experiment: ExperimentResult, t: dict[str, str]) -> str:
    """The sample-ratio-mismatch warning in words (empty when the split is sound or was not checked)."""
    if not experiment.sample_ratio_mismatch or experiment.weights is None:
        return ""
    total = sum(weight for weight in experiment.weights.values() if weight > 0)
    expected = " / ".join(f"{v.name} {100 * experiment.weights.get(v.name, 0) / total:g} %"
                          for v in experiment.variants)  # fmt: skip
    visitors = sum(v.visitors for v in experiment.variants) or 1
    observed = " / ".join(f"{v.name} {100 * v.visitors / visitors:.1f} %" for v in experiment.variants)
    return t["split_mismatch"].format(expected=expected, observed=observed, p=f"{experiment.split_p_value or 0:.2g}")


def verdict(variant: VariantResult, t: dict[str, str]) -> str:
    """``report``'s verdict in the interface language."""
    words = variant.verdict
    if words == "baseline":
        return t["verdict_baseline"]
    if words.startswith("not yet significant (too few"):
        return t["verdict_too_few"].format(count=MIN_COUNT)
    if words.startswith("not yet significant"):
        if variant.visitors_needed and "needed" in t:
            return f"{t['verdict_not_yet']}: " + t["needed"].format(count=f"{_round(variant.visitors_needed):,}",
                                                                    lift=percent(LIFT))  # fmt: skip
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
    value = ""
    if "value_sentence" in t:
        value = "; " + t["value_sentence"].format(value=_money(variant.value_per_visitor),
                                                  low=_money(variant.value_low), high=_money(variant.value_high))
    if variant is base:
        return f"{text}{value}."
    versus = t["versus_baseline"].format(base=base.name, rate=percent(base.rate))
    if variant.lift is not None:
        versus += f", {variant.lift:+.1%}".replace("%", " %")
    if variant.p_value is not None:
        versus += f", p = {variant.p_value:.3f}"
    return f"{text} {versus}: {verdict(variant, t)}{value}."


async def experiments_page(request: Request) -> Response:
    """``/experiments``: per experiment and variant, the report's figures, a chart and the verdict in words."""
    state = console(request)
    lang = language(request)
    t = {**texts(lang), **STATS_TEXTS.get(lang, STATS_TEXTS["en"])}
    checked = state.workspace.check()
    defined = {}
    weights = None
    if checked.ruleset is not None:
        defined = {rule.experiment.key: rule for rule in checked.ruleset.rules if rule.experiment is not None}
        weights = weights_of(checked.ruleset)
    context: dict[str, Any] = {"events": state.events, "defined": defined, "results": [], "read_problems": [],
                               "missing": False, "report": None, "t": t}  # fmt: skip
    if state.events is None or not state.events.is_file():
        return render(request, "experiments.html", "experiments", **{**context, "missing": True})
    read_problems: list[str] = []
    report = summarise_paths(backups_of(state.events), weights, problems=read_problems)  # with its rotated backups
    results = []
    for index, experiment in enumerate(report.experiments):
        words = [sentence(experiment, variant, t) for variant in experiment.variants]
        texts_ = ChartTexts(t["chart_title"].format(key=experiment.key), " ".join(words))
        results.append({"experiment": experiment, "chart": chart(experiment, texts_, f"chart-{index}"),
                        "words": words, "verdicts": {v.name: verdict(v, t) for v in experiment.variants},
                        "split_warning": split_message(experiment, t),
                        "split_unchecked": experiment.weights is None})  # fmt: skip
    return render(request, "experiments.html", "experiments",
                  **{**context, "results": results, "read_problems": read_problems, "report": report})


def _money(amount: float) -> str:
    return f"{amount:,.2f}"


def _round(count: int) -> int:
    """Two significant figures: the estimate is no more precise than that."""
    return count if count < 100 else round(count, 2 - len(str(count)))
