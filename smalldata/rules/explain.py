"""The words ``smalldata try`` uses for a decision and its trace.

``smalldata try --explain`` prints them and the console (``smalldata console``)
shows them, so a merchandiser reads the same sentence in a terminal and in a
browser.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from smalldata.decision import Decision, TraceEntry
from smalldata.rules.action_types import ACTION_TYPES
from smalldata.signals.catalog import SignalCatalog
from smalldata.signals.request import RequestSignals


@dataclass(frozen=True)
class DecisionRow:
    """One filled slot of a decision: its name, what fills it (HTML-safe text) and the rule that filled it."""

    slot: str
    text: str
    rule: str


def json_default(value: Any) -> Any:
    """How signal values that JSON does not know are written (times as ISO text, sets as sorted lists)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value)
    return str(value)


def show_value(value: Any) -> str:
    """A signal value as a trace writes it: JSON, so an unknown value reads ``null`` and text is quoted."""
    return json.dumps(value, default=json_default, ensure_ascii=False)


def produced_signals(signals: RequestSignals, catalog: SignalCatalog) -> dict[str, Any]:
    """Every signal of every namespace, as the request produced it (``try --json`` prints them all)."""
    return {name: value for ns in catalog.namespaces for name, value in signals.namespace(ns).items()}


def shown_signals(produced: Mapping[str, Any], reads: Collection[str]) -> dict[str, Any]:
    """What ``try --explain`` lists: every known value, and every one the rules read."""
    return {name: value for name, value in produced.items() if value not in (None, [], {}) or name in reads}


def decision_rows(decision: Decision) -> list[DecisionRow]:
    """Every filled slot of ``decision``, then its tags and experiment variants, in the order ``try`` prints them."""
    rows = [DecisionRow(*row) for kind in ACTION_TYPES for row in kind.rows(decision)]
    if decision.tags:
        rows.append(DecisionRow("tags", ", ".join(decision.tags), ""))
    for key, variant in decision.experiments.items():
        rows.append(DecisionRow(f"experiment {key}", variant, ""))
    return rows


def trace_detail(entry: TraceEntry) -> str:
    """Why a rule did or did not apply, after its status: the failed condition with the value seen,
    the slots it filled, or the engine's reason (``runs from …``, ``its slots are taken by …``)."""
    if entry.status == "failed":
        return f"{entry.condition} (actual: {json.dumps(entry.actual, default=json_default)})"
    if entry.status == "matched" and entry.slots:
        return ", ".join(entry.slots) + (f"; {entry.detail}" if entry.detail else "")
    return entry.detail


def trace_words(entry: TraceEntry) -> str:
    """``failed: user.logged_in is true (actual: false)``: the status and :func:`trace_detail`."""
    detail = trace_detail(entry)
    return entry.status.replace("_", " ") + (f": {detail}" if detail else "")
