"""An imagined visitor: the signals a real request would produce, plus what a merchandiser sets.

``smalldata try``, ``smalldata test`` and previews all go through here, so they
see exactly what the middleware would compute for such a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from smalldata.foundation.asgi import make_scope
from smalldata.foundation.dates import to_moment
from smalldata.signals.catalog import BUILT_IN, SignalCatalog
from smalldata.signals.catalog import catalog as declared_catalog
from smalldata.signals.clock import system_clock
from smalldata.signals.config import SignalSettings
from smalldata.signals.providers import signals_for
from smalldata.signals.request import RequestSignals
from smalldata.state.model import VisitorState

if TYPE_CHECKING:
    from smalldata.decision import Decision
    from smalldata.rules.engine import CapCounts, Engine

DEFAULT_VISITOR_ID = "imagined-visitor"


@dataclass
class Imagined:
    """What describes an imagined request."""

    given: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    at: datetime | None = None
    language: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    visitor_id: str | None = None

    def signals(self, settings: SignalSettings) -> RequestSignals:
        """The signals of this request; what is not given is what the shop would see for a new,
        anonymous visitor (``visitor.returning`` false, ``user.logged_in`` false, empty history).

        Raises ``ValueError`` for a URL that cannot be requested.
        """
        headers = dict(self.headers)
        if self.user_agent is not None:
            headers["user-agent"] = self.user_agent
        if self.language is not None:
            headers["accept-language"] = self.language
        scope = make_scope(self.url or "/", headers=headers, client_ip=self.ip or "127.0.0.1")
        scope["session"] = {}  # a shop with a session key: nobody logged in
        if not settings.user.session_key and not settings.user.callable:
            scope["user"] = False  # a shop using scope["user"]: anonymous
        now = self.at or system_clock()
        now = (now if now.tzinfo else now.replace(tzinfo=settings.zone)).astimezone(settings.zone)
        visitor = VisitorState.new(now, id=self.visitor_id or DEFAULT_VISITOR_ID)
        visitor.touch(now)  # this request is the visitor's first page view
        known = declared_catalog(settings.signals)
        # given: and --set values read as the shop would read them from a source (one coercion)
        given = {name: known.coerce(name, _in_zone(value, settings)) for name, value in self.given.items()}
        signals = signals_for(scope, settings, now=now, overrides=given, visitor=visitor)
        # like the shop, the page being viewed is part of the history the rules see
        visitor.record_page(signals["page.product"], signals["page.category"])
        return signals

    async def decide(self, engine: Engine, settings: SignalSettings, *,
                     caps: CapCounts | None = None) -> tuple[Decision, RequestSignals]:
        """The decision for this request, with its trace, and the signals it was made from.

        Remote sources (CRM, basket service) and the shop's functions are awaited first, for
        the namespaces the rules read, as the middleware would, unless every signal the rules
        read of a namespace is given. ``caps`` are how often the visitor has
        had each capped rule already (None: caps are not counted). Raises
        ``ValueError`` like :meth:`signals`.
        """
        signals = self.signals(settings)
        given = signals.overrides  # a source is not asked for what the merchandiser gave (try --set, given:)
        await signals.prefetch(dict.fromkeys(name.partition(".")[0] for name in sorted(engine.ruleset.reads)
                                             if name not in given))
        return engine.decide(signals, caps=caps, visitor_id=self.visitor_id, trace=True), signals


def parse_sets(items: Sequence[str], catalog: SignalCatalog = BUILT_IN, *, option: str = "--set") -> dict[str, Any]:
    """``["geo.country=SE", "basket.total=400"]`` → signal values read as YAML.

    Raises ``ValueError`` naming every unknown signal, unreadable value or value of
    the wrong kind at once. ``option`` is what the messages call a line (``--set`` on
    the command line; ``""`` for a form, whose reader knows no options).
    """
    said = f"{option} " if option else ""
    from smalldata.foundation.problems import did_you_mean
    from smalldata.foundation.yamlpos import YamlError, load_value

    values: dict[str, Any] = {}
    problems: list[str] = []
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            problems.append(f"{said}{item!r}: write SIGNAL=VALUE, e.g. {said}visitor.returning=true")
            continue
        if catalog.resolve(name) is None:
            problems.append(f"{option + ': ' if option else ''}unknown signal '{name}'"
                            f"{did_you_mean(name, list(catalog.specs))}")
            continue
        try:
            value = load_value(text) if text.strip() else None
        except YamlError as exc:
            problems.append(f"{said}{name}: {exc.problem.message}")
            continue
        problem = catalog.value_problem(name, value)
        if problem is not None:
            problems.append(f"{said}{name}: {problem}")
            continue
        values[name] = catalog.coerce(name, value)
    if problems:
        raise ValueError("\n".join(problems))
    return values


def parse_moment(text: str, settings: SignalSettings) -> datetime:
    """``2026-12-24T18:00`` (shop time), ``2026-12-24`` (midnight) or with an offset."""
    moment = to_moment(text, settings.zone)
    if moment is None:
        raise ValueError(f"'{text}' is not a time; write e.g. 2026-12-24T18:00")
    return moment


def _in_zone(value: Any, settings: SignalSettings) -> Any:
    """A time written without an offset is shop time, as for ``--at``."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=settings.zone)
    return value
