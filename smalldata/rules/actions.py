"""Actions compiled once: each fills one slot of a decision, or says why it cannot.

Slots are ``greeting``, ``chat``, ``prefill:<form>``, ``recommend:<slot>`` and
``banner:<slot>`` (:class:`smalldata.decision.Slot`); tags are not slots and always apply.
Each kind of action (its compile step, its JSON form, its words) is one entry of
:data:`smalldata.rules.action_types.ACTION_TYPES`; this module holds what they share. A text without
placeholders is rendered at load, once per language: filling its slot on a page
is then a dictionary lookup (a banner or chat invitation without placeholders is
even the same immutable object for every visitor who sees it in that language).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smalldata import decision as d
from smalldata.decision import TraceStatus
from smalldata.rules.templates import LangText, Template, Unknown
from smalldata.signals.base import Signals

Fill = Callable[[Signals, d.Decision, str], None]


class NotApplied(Exception):
    """An action that matched but cannot be shown now (an unknown value, the shop is closed).

    ``status`` is what a trace calls it: ``unknown_value``, ``closed`` or ``capped``.
    """

    def __init__(self, reason: str, signal: str | None = None, status: TraceStatus = "unknown_value") -> None:
        self.reason = reason
        self.signal = signal
        self.status = status
        super().__init__(reason)


@dataclass(frozen=True)
class SlotAction:
    """One action bound to the slot it fills."""

    slot: str
    fill: Fill
    reads: frozenset[str]
    constant: bool = False  # no placeholder and no condition of its own: it always applies


@dataclass(frozen=True)
class ActionSet:
    """Everything one rule (or one experiment variant) does."""

    actions: tuple[SlotAction, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(a.slot for a in self.actions)

    @property
    def reads(self) -> frozenset[str]:
        return frozenset().union(*(a.reads for a in self.actions))


class Text:
    """A compiled text, ready for a page: rendered at load when it has no placeholder."""

    __slots__ = ("escape", "fixed", "source", "versions")

    def __init__(self, source: LangText, *, escape: bool = True) -> None:
        self.source = source
        self.escape = escape
        self.versions = source.versions
        fixed = {language: template.constant for language, template in source.versions.items()}
        # the language does not matter when there is only one version
        self.fixed: dict[str, str] | None = None if None in fixed.values() else fixed  # type: ignore[assignment]

    @property
    def constant(self) -> bool:
        return self.fixed is not None

    @property
    def reads(self) -> frozenset[str]:
        return self.source.reads

    def language(self, signals: Signals) -> str:
        """The version a visitor gets: their language, else the fallback, else the first."""
        versions = self.versions
        if len(versions) == 1:
            return next(iter(versions))
        language = signals["page.language"]
        if type(language) is str and language in versions:
            return language
        return self.source.fallback if self.source.fallback in versions else next(iter(versions))

    def render(self, signals: Signals) -> str:
        """The text for this visitor; :class:`NotApplied` when a placeholder's value is unknown."""
        language = self.language(signals)
        if self.fixed is not None:
            return self.fixed[language]
        template: Template = self.versions[language]
        # numbers are written as the version's language writes them; one version for all: as the page's
        written = language or (signals.get("page.language") if template.reads else None)
        try:
            return template.render(signals, escape=self.escape, language=written)
        except Unknown as exc:
            raise NotApplied(f"{exc.signal} is unknown", exc.signal) from None


Errors = list[tuple[tuple[str | int, ...], str]]
