"""The pure-Python engine: events in memory (a few files, no extra needed).

It counts exactly what the SQL of :mod:`smalldata.tools.report.sql` counts, so the DuckDB engine
and a warehouse give the same report; the order events come in makes no difference (files
from several hosts have none between them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from smalldata.foundation.dates import to_moment
from smalldata.tools.report.model import ArmCounts, Report, experiments
from smalldata.tools.report.sql import COLUMNS

__all__ = ["summarise"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_Exposure = tuple[int, str]  # (when, in microseconds since the epoch; variant)
_Conversion = tuple[int, float, str | None]  # (when, value, order id)


def summarise(
    events: Iterable[Mapping[str, Any]], weights: Mapping[str, Mapping[str, float]] | None = None
) -> Report:
    """Count exposures and conversions per experiment and variant (pure: any order of events, same report).

    A visitor counts in the variant of their first exposure (ties: the variant first by name);
    they converted when they have a conversion at or after it. ``weights`` (experiment →
    variant → weight) turn on the sample-ratio-mismatch check.
    """
    report = Report()
    first: dict[tuple[str, str], _Exposure] = {}
    conversions: dict[str, list[tuple[_Conversion, str]]] = {}
    server_orders: set[str] = set()
    for event in events:
        if not any(event.get(name) is not None for name in COLUMNS):
            continue  # none of the events table's fields: no event (DuckDB reads a torn line so)
        report.events += 1
        kind, visitor = event.get("type"), event.get("visitor")
        if kind == "conversion":
            source = "server" if event.get("source") == "server" else "browser"
            report.conversion_sources[source] = report.conversion_sources.get(source, 0) + 1
            if source == "server" and isinstance(event.get("order_id"), str):
                server_orders.add(event["order_id"])
        if not isinstance(visitor, str) or not visitor:
            continue
        if kind == "exposure":
            if event.get("forced") is True:
                report.forced_left_out += 1
                continue
            experiment, variant = event.get("experiment"), event.get("variant")
            if not (isinstance(experiment, str) and isinstance(variant, str)):
                continue
            when = _when(event.get("at"))
            if when is None:
                report.undated_left_out += 1
                continue
            key = (experiment, visitor)
            if key not in first or (when, variant) < first[key]:
                first[key] = (when, variant)
        elif kind == "conversion":
            when = _when(event.get("at"))
            if when is None:
                report.undated_left_out += 1
                continue
            value = event.get("value")
            amount = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
            order_id = event.get("order_id") if isinstance(event.get("order_id"), str) else None
            source = "server" if event.get("source") == "server" else "browser"
            conversions.setdefault(visitor, []).append(((when, amount if math.isfinite(amount) else 0.0, order_id),
                                                        source))  # fmt: skip
    kept = {visitor: [c for c, source in theirs if source == "server" or c[2] not in server_orders]
            for visitor, theirs in conversions.items()}  # fmt: skip
    exposed = {visitor for _, visitor in first}
    report.conversions_without_exposure = sum(len(c) for v, c in kept.items() if v not in exposed)
    report.experiments = experiments(_arms(first, kept), weights)
    return report


def _when(value: Any) -> int | None:
    """Microseconds since the epoch (exact: ties are ties), or None when there is no readable time."""
    moment = to_moment(value, UTC) if isinstance(value, str) else None
    return None if moment is None else (moment - _EPOCH) // _MICROSECOND


def _arms(
    first: Mapping[tuple[str, str], _Exposure], conversions: Mapping[str, list[_Conversion]]
) -> dict[str, dict[str, ArmCounts]]:
    arms: dict[str, dict[str, ArmCounts]] = {}
    for (experiment, visitor), (exposed_at, variant) in first.items():
        counts = arms.setdefault(experiment, {}).setdefault(variant, ArmCounts())
        counts.visitors += 1
        after = [c for c in conversions.get(visitor, ()) if c[0] >= exposed_at]
        if after:
            value = _value(after)
            counts.conversions += 1
            counts.value += value
            counts.value_squares += value * value
    return arms


def _value(conversions: list[_Conversion]) -> float:
    """A visitor's order value: each order once (a re-sent order counts at its largest value)."""
    orders: dict[str, float] = {}
    loose = 0.0
    for _, value, order_id in conversions:
        if order_id is None:
            loose += value
        else:
            orders[order_id] = max(value, orders.get(order_id, value))
    return loose + sum(orders.values())
