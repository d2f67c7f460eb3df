"""What a report holds, and how an experiment's counts become its figures (both engines share this)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from smalldata.tools.report import stats

__all__ = ["CONTROL", "LIFT", "MIN_COUNT", "ArmCounts", "ExperimentResult", "Report", "VariantResult", "experiments"]

MIN_COUNT = 5
CONTROL = "control"
#: The relative lift the "visitors still needed" figure is for (a 10 % better conversion rate).
LIFT = 0.10


@dataclass
class ArmCounts:
    """What an engine counts per variant: visitors, converted visitors, their order value and its squares."""

    visitors: int = 0
    conversions: int = 0
    value: float = 0.0
    value_squares: float = 0.0  # the sum of each visitor's value squared (revenue per visitor's spread)


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
    value_per_visitor: float = 0.0
    value_low: float = 0.0
    value_high: float = 0.0
    #: more visitors this variant and the baseline each need to detect a :data:`LIFT` (None: cannot say)
    visitors_needed: int | None = None


@dataclass
class ExperimentResult:
    """One experiment: its baseline and every variant (the baseline first), and whether its split is sound."""

    key: str
    baseline: str
    variants: list[VariantResult]
    weights: dict[str, float] | None = None
    #: the sample-ratio-mismatch test's p-value (None: no weights known, or one arm)
    split_p_value: float | None = None
    #: the split is too far from the weights to be chance (p < 0.001): the figures cannot be trusted
    sample_ratio_mismatch: bool = False


@dataclass
class Report:
    """What an engine found in a set of events."""

    experiments: list[ExperimentResult] = field(default_factory=list)
    events: int = 0
    forced_left_out: int = 0
    conversions_without_exposure: int = 0
    #: exposures and conversions without a readable time ("at"), left out: their order is unknown
    undated_left_out: int = 0
    #: conversions by where they came from ("server", "browser"); a browser's left out for the server's order
    conversion_sources: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def experiments(
    arms: Mapping[str, Mapping[str, ArmCounts]], weights: Mapping[str, Mapping[str, float]] | None = None
) -> list[ExperimentResult]:
    """Every experiment's figures from its arms' counts, by key; ``weights`` (experiment → variant →
    weight, the rules' split) turn on the sample-ratio-mismatch check."""
    return [_experiment(key, variants, (weights or {}).get(key)) for key, variants in sorted(arms.items())]


def _experiment(key: str, variants: Mapping[str, ArmCounts], weights: Mapping[str, float] | None) -> ExperimentResult:
    names = sorted(variants, key=lambda name: (name != CONTROL, name))
    results = []
    for name in names:
        counts = variants[name]
        low, high = stats.wilson_interval(counts.conversions, counts.visitors)
        mean, value_low, value_high = stats.mean_interval(counts.value, counts.value_squares, counts.visitors)
        rate = counts.conversions / counts.visitors if counts.visitors else 0.0
        results.append(VariantResult(name, counts.visitors, counts.conversions, rate, low, high,
                                     round(counts.value, 2), value_per_visitor=round(mean, 2),
                                     value_low=round(value_low, 2), value_high=round(value_high, 2)))  # fmt: skip
    base = results[0]
    base.verdict = "baseline"
    for result in results[1:]:
        _compare(result, base)
    experiment = ExperimentResult(key, names[0], results)
    if weights:
        experiment.weights = dict(weights)
        p = experiment.split_p_value = stats.sample_ratio_p_value({v.name: v.visitors for v in results}, weights)
        experiment.sample_ratio_mismatch = p is not None and p < stats.SRM_ALPHA
    return experiment


def _compare(result: VariantResult, base: VariantResult) -> None:
    result.p_value = stats.two_proportion_p_value(result.conversions, result.visitors, base.conversions, base.visitors)
    result.lift = (result.rate - base.rate) / base.rate if base.rate > 0 else None
    needed = stats.visitors_needed(base.rate, LIFT)
    if needed is not None:
        result.visitors_needed = max(0, needed - min(result.visitors, base.visitors))
    enough = all(
        count >= MIN_COUNT
        for arm in (result, base)
        for count in (arm.conversions, arm.visitors - arm.conversions)
    )
    if not enough:
        result.verdict = f"not yet significant (too few conversions: need {MIN_COUNT}+ per variant)"
    elif result.p_value is None or result.p_value >= stats.ALPHA:
        result.verdict = "not yet significant"
    else:
        result.verdict = "significant: " + ("better" if result.rate > base.rate else "worse")
