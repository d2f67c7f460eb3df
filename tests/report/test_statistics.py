"""The statistics merchandisers can trust: the split checked against the weights, revenue per visitor with
its interval, and the visitors a variant still needs instead of a bare "not significant"."""

from __future__ import annotations

from typing import Any

import pytest

from smalldata.tools.report import format_report, summarise
from smalldata.tools.report.stats import chi_square_sf, visitors_needed

FIFTY_FIFTY = {"checkout": {"control": 50.0, "b": 50.0}}


def _events(arms: dict[str, tuple[int, int]], value: float = 100.0) -> list[dict[str, Any]]:
    """``arms``: variant → (visitors, converted); each converted visitor orders once for ``value``."""
    events: list[dict[str, Any]] = []
    for variant, (visitors, converted) in arms.items():
        for n in range(visitors):
            visitor = f"{variant}-{n}"
            events.append({"type": "exposure", "at": "2026-11-25T10:00:00Z", "visitor": visitor,
                           "experiment": "checkout", "variant": variant})  # fmt: skip
            if n < converted:
                events.append({"type": "conversion", "at": "2026-11-25T10:30:00Z", "visitor": visitor,
                               "value": value, "order_id": visitor})  # fmt: skip
    return events


def test_a_55_45_split_of_a_50_50_experiment_is_flagged_as_untrustworthy() -> None:
    report = summarise(_events({"control": (1100, 110), "b": (900, 99)}), FIFTY_FIFTY)

    (experiment,) = report.experiments
    assert experiment.sample_ratio_mismatch and experiment.split_p_value is not None
    assert experiment.split_p_value < 0.001
    text = format_report(report)
    assert "!! SAMPLE RATIO MISMATCH: control / b got 1,100 / 900 visitors where the weights say 50 % / 50 %" in text
    assert "DO NOT TRUST these results" in text


def test_a_split_within_chance_of_the_weights_is_not_flagged() -> None:
    report = summarise(_events({"control": (1030, 103), "b": (970, 97)}), FIFTY_FIFTY)

    assert not report.experiments[0].sample_ratio_mismatch
    assert "SAMPLE RATIO MISMATCH" not in format_report(report)


def test_a_variant_the_weights_do_not_have_breaks_the_split() -> None:
    report = summarise(_events({"control": (500, 50), "b": (500, 50), "c": (3, 0)}), FIFTY_FIFTY)

    assert report.experiments[0].sample_ratio_mismatch


@pytest.mark.parametrize(("df", "critical_05", "critical_001"),
                         [(1, 3.841459, 10.827566), (2, 5.991465, 13.815511), (3, 7.814728, 16.266236),
                          (4, 9.487729, 18.466827), (7, 14.067140, 24.321886)])  # fmt: skip
def test_the_chi_square_survival_function_meets_the_tables_critical_values(
    df: int, critical_05: float, critical_001: float
) -> None:
    assert chi_square_sf(critical_05, df) == pytest.approx(0.05, rel=1e-5)
    assert chi_square_sf(critical_001, df) == pytest.approx(0.001, rel=1e-5)


def test_revenue_per_visitor_and_its_interval_sit_beside_the_rate() -> None:
    report = summarise(_events({"control": (400, 40), "b": (400, 60)}, value=50.0), FIFTY_FIFTY)

    control, b = report.experiments[0].variants
    # b: 60 of 400 visitors ordered for 50 → 7.50 a visitor; sd = 50·sqrt(0.15·0.85·400/399) = 17.87
    assert (b.value_per_visitor, b.value_low, b.value_high) == (7.5, 5.75, 9.25)
    assert control.value_per_visitor == 5.0
    assert "value/visitor" in format_report(report) and "7.50  [5.75, 9.25]" in format_report(report)


def test_the_visitors_needed_match_the_textbook_figure() -> None:
    # 5 % baseline, 10 % relative lift, alpha 0.05 two-sided, power 0.8: about 31,200 a variant
    assert visitors_needed(0.05, 0.10) == 31234


def test_an_inconclusive_variant_says_how_many_more_visitors_it_needs() -> None:
    report = summarise(_events({"control": (1000, 100), "b": (1000, 105)}), FIFTY_FIFTY)

    b = report.experiments[0].variants[1]
    assert b.visitors_needed == visitors_needed(0.10, 0.10) - 1000  # type: ignore[operator]
    assert "not yet significant: about 14,000 more visitors per variant to see a 10 % lift" in format_report(report)
