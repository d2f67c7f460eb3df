"""The experiments chart: each variant's conversion rate with its 95 % confidence interval, as inline SVG.

Drawn on the server from :class:`smalldata.tools.report.ExperimentResult`, so the page
needs no script and no chart library; the figures themselves are
:func:`smalldata.tools.report.summarise`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from smalldata.tools.report import ExperimentResult

WIDTH = 640
LABEL = 110  # room for the variant names on the left
RIGHT = 70  # room for the rate on the right
ROW = 34
TOP = 12
AXIS = 30


@dataclass(frozen=True)
class ChartTexts:
    """The chart's words in the interface language."""

    title: str  # e.g. "Conversion rate by variant, 95 % confidence interval"
    description: str  # the figures in words, for screen readers


def nice_top(value: float) -> float:
    """The axis end: a round number (1, 2, 2.5 or 5 × a power of ten) at or above ``value``."""
    if value <= 0:
        return 0.01
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def percent(value: float) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text} %"


def chart(experiment: ExperimentResult, texts: ChartTexts, ident: str) -> Markup:
    """An ``<svg role="img">`` of one experiment; ``ident`` makes its title and description ids unique."""
    top = nice_top(max((v.ci_high for v in experiment.variants), default=0.0))
    plot = WIDTH - LABEL - RIGHT
    height = TOP + ROW * len(experiment.variants) + AXIS

    def x(rate: float) -> float:
        return round(LABEL + plot * min(rate, top) / top, 1)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(texts.title)}</title>',
        f'<desc id="{ident}-desc">{escape(texts.description)}</desc>',
    ]
    bottom = TOP + ROW * len(experiment.variants)
    for i in range(5):
        value = top * i / 4
        parts.append(f'<line class="grid" x1="{x(value)}" x2="{x(value)}" y1="{TOP - 6}" y2="{bottom}"/>')
        parts.append(f'<text class="tick" x="{x(value)}" y="{bottom + 18}" text-anchor="middle">'
                     f"{escape(percent(value))}</text>")
    baseline = experiment.variants[0] if experiment.variants else None
    if baseline is not None:
        parts.append(f'<line class="baseline" x1="{x(baseline.rate)}" x2="{x(baseline.rate)}" '
                     f'y1="{TOP - 6}" y2="{bottom}"/>')
    for row, variant in enumerate(experiment.variants):
        y = TOP + ROW * row + ROW / 2
        kind = "base" if row == 0 else "arm"
        parts += [
            f'<g class="row {kind}">',
            f'<text class="name" x="{LABEL - 10}" y="{y + 4}" text-anchor="end">{escape(variant.name)}</text>',
            f'<line class="ci" x1="{x(variant.ci_low)}" x2="{x(variant.ci_high)}" y1="{y}" y2="{y}"/>',
            f'<line class="ci" x1="{x(variant.ci_low)}" x2="{x(variant.ci_low)}" y1="{y - 6}" y2="{y + 6}"/>',
            f'<line class="ci" x1="{x(variant.ci_high)}" x2="{x(variant.ci_high)}" y1="{y - 6}" y2="{y + 6}"/>',
            f'<circle class="rate" cx="{x(variant.rate)}" cy="{y}" r="5"/>',
            f'<text class="value" x="{WIDTH - RIGHT + 8}" y="{y + 4}">{escape(percent(variant.rate))}</text>',
            "</g>",
        ]
    parts.append("</svg>")
    return Markup("".join(parts))
