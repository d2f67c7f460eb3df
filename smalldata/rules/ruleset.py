"""A compiled ruleset: what the engine evaluates and ``smalldata check`` reports on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from smalldata.foundation.problems import Position, Problem
from smalldata.rules import model
from smalldata.rules.actions import ActionSet
from smalldata.rules.conditions import Node
from smalldata.rules.durations import ClockWindow, parse_window
from smalldata.rules.experiments import CompiledExperiment
from smalldata.signals.catalog import WEEKDAYS


@dataclass(frozen=True)
class ActiveWindow:
    """When a rule runs: a date range, weekdays and daily hours, in the shop's time zone."""

    start: datetime | None
    end: datetime | None  # exclusive
    weekdays: frozenset[int] | None
    hours: ClockWindow | None

    @classmethod
    def build(cls, active: model.Active, zone: ZoneInfo) -> ActiveWindow:
        return cls(
            _moment(active.from_, zone, end=False),
            _moment(active.until, zone, end=True),
            frozenset(WEEKDAYS.index(day) for day in active.weekdays) if active.weekdays else None,
            parse_window(active.hours) if active.hours else None,
        )

    def contains(self, now: datetime) -> bool:
        if self.start is not None and now < self.start:
            return False
        if self.end is not None and now >= self.end:
            return False
        if self.weekdays is not None and now.weekday() not in self.weekdays:
            return False
        return self.hours is None or self.hours.contains(now.time())

    def describe(self) -> str:
        parts = []
        if self.start:
            parts.append(f"from {self.start:%Y-%m-%d %H:%M}")
        if self.end:
            parts.append(f"until {self.end:%Y-%m-%d %H:%M}")
        if self.weekdays is not None:
            parts.append("on " + ", ".join(WEEKDAYS[d] for d in sorted(self.weekdays)))
        if self.hours:
            parts.append(f"between {self.hours}")
        return " ".join(parts)


def _moment(value: date | datetime | None, zone: ZoneInfo, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    # a date means the whole day: from its first moment, until after its last
    return datetime.combine(value + timedelta(days=1) if end else value, time(), zone)


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to evaluate."""

    id: str
    description: str
    priority: int
    order: int
    position: Position
    condition: Node
    actions: ActionSet | None
    experiment: CompiledExperiment | None
    cap: model.Cap | None
    active: ActiveWindow | None
    slots: tuple[str, ...]
    tags: tuple[str, ...]
    reads: frozenset[str]
    source: model.Rule


@dataclass(frozen=True)
class TestCase:
    """A ``tests:`` entry of a rule file, with its position."""

    test: model.RuleTest
    position: Position


@dataclass
class Ruleset:
    """Every rule of a folder, in evaluation order (priority, then file order)."""

    rules: tuple[CompiledRule, ...]
    segments: dict[str, Node]
    tests: list[TestCase]
    version: str
    files: list[str]
    warnings: list[Problem] = field(default_factory=list)
    disabled: tuple[CompiledRule, ...] = ()  # ``enabled: false``: checked, never evaluated, still known by id

    @cached_property
    def reads(self) -> frozenset[str]:
        """Every base signal name any rule or action may read."""
        return frozenset().union(*(rule.reads for rule in self.rules))

    @cached_property
    def namespaces(self) -> frozenset[str]:
        return frozenset(name.split(".", 1)[0] for name in self.reads)

    def rule(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)
