"""The report as a table for people: rates, revenue per visitor, verdicts, and a loud warning for a broken split."""

from __future__ import annotations

from smalldata.tools.report.model import LIFT, ExperimentResult, Report, VariantResult
from smalldata.tools.report.stats import SRM_ALPHA

__all__ = ["format_report", "needed_words", "split_warning"]


def format_report(report: Report) -> str:
    """The report as a table for people."""
    if not report.experiments:
        return f"No experiment exposures in {report.events} events.\n"
    out: list[str] = []
    for experiment in report.experiments:
        out.append(f"Experiment {experiment.key} (baseline: {experiment.baseline})")
        warning = split_warning(experiment)
        if warning:
            out += [f"  !! {line}" for line in warning]
        out.append(f"  {'variant':<16}{'visitors':>9}{'conversions':>13}{'rate':>9}  {'95% CI':<18}"
                   f"{'value/visitor':>14}  {'95% CI':<18}  vs baseline")  # fmt: skip
        for v in experiment.variants:
            ci = f"[{v.ci_low:.2%}, {v.ci_high:.2%}]"
            value_ci = f"[{v.value_low:,.2f}, {v.value_high:,.2f}]"
            versus = v.verdict if v.p_value is None else _versus(v)
            out.append(f"  {v.name:<16}{v.visitors:>9}{v.conversions:>13}{v.rate:>9.2%}  {ci:<18}"
                       f"{v.value_per_visitor:>14,.2f}  {value_ci:<18}  {versus}")  # fmt: skip
        if experiment.weights is None:
            out.append("  (split not checked: the experiment's weights are not in the rules read)")
        out.append("")
    notes = []
    if report.forced_left_out:
        count = report.forced_left_out
        notes.append(f"{count} forced (preview) exposure{'' if count == 1 else 's'} left out")
    if report.conversions_without_exposure:
        notes.append(f"{report.conversions_without_exposure} conversions by visitors in no experiment")
    if report.undated_left_out:
        notes.append(f"{report.undated_left_out} events without a readable time left out")
    sources = report.conversion_sources
    if sources.get("server"):  # older event files have browsers' conversions only: no note for them
        notes.append(f"conversions from the shop's server: {sources['server']}, from browsers: "
                     f"{sources.get('browser', 0)} (a browser's for an order the server recorded left out)")
    if notes:
        out.append("; ".join(notes) + ".")
    return "\n".join(out).rstrip("\n") + "\n"


def split_warning(experiment: ExperimentResult) -> list[str]:
    """The sample-ratio-mismatch warning's lines, or none when the split is sound (or unchecked)."""
    if not experiment.sample_ratio_mismatch or experiment.weights is None:
        return []
    names = [v.name for v in experiment.variants]
    observed = " / ".join(f"{v.visitors:,}" for v in experiment.variants)
    total = sum(w for w in experiment.weights.values() if w > 0)
    expected = " / ".join(f"{100 * experiment.weights.get(name, 0) / total:g} %" for name in names)
    p = experiment.split_p_value or 0.0
    return [
        f"SAMPLE RATIO MISMATCH: {' / '.join(names)} got {observed} visitors where the weights say {expected} "
        f"(p = {p:.2g} < {SRM_ALPHA:g}).",
        "The split itself is broken (assignment, redirects, bots, lost exposures or weights changed mid-test):",
        "DO NOT TRUST these results; find the cause and start the experiment again.",
    ]


def needed_words(v: VariantResult) -> str:
    """``about 4,100 more visitors per variant to see a 10 % lift`` (empty when it cannot be said)."""
    if v.visitors_needed is None or v.visitors_needed == 0:
        return ""
    return f"about {_round(v.visitors_needed):,} more visitors per variant to see a {LIFT:.0%} lift".replace(
        "%", " %"
    )


def _round(count: int) -> int:
    """Two significant figures: the estimate is no more precise than that."""
    if count < 100:
        return count
    digits = len(str(count)) - 2
    return round(count, -digits)


def _versus(v: VariantResult) -> str:
    lift = f"{v.lift:+.1%}, " if v.lift is not None else ""
    verdict = v.verdict
    needed = needed_words(v)
    if verdict.startswith("not yet significant") and needed:
        verdict = f"not yet significant: {needed}"
    return f"{lift}p={v.p_value:.3f}, {verdict}"
