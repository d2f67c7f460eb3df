"""The Try page's visitor: a form read into :class:`~smalldata.rules.imagine.Imagined`, personas, and a day's timeline.

The decision comes from :meth:`Imagined.decide` (what ``smalldata try`` runs);
recommendation slots are filled from the shop's catalogue by the library's own
:class:`~smalldata.recommend.CatalogueRecommender`, so the cards are the ones a page would get.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from smalldata.decision import Decision
from smalldata.foundation.problems import did_you_mean
from smalldata.recommend import CatalogueRecommender
from smalldata.rules import CapCounts, Engine, StaticCaps
from smalldata.rules.explain import produced_signals, shown_signals
from smalldata.rules.imagine import DEFAULT_VISITOR_ID, Imagined, parse_moment, parse_sets
from smalldata.settings import Settings

STEP_MINUTES = 15
STEPS = 24 * 60 // STEP_MINUTES

#: Browsers a visitor can arrive with (``device.*`` is read from the User-Agent, as in the shop).
DEVICES: dict[str, str] = {
    "desktop": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/124.0.0.0 Safari/537.36",
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.4 Mobile/15E148 Safari/604.1",
    "tablet": "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.4 Mobile/15E148 Safari/604.1",
    "bot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}  # fmt: skip


@dataclass(frozen=True)
class Persona:
    """A preset visitor: the signals it sets, and the page, language, browser and time of day it brings."""

    key: str
    sets: tuple[str, ...]
    url: str | None = None
    language: str | None = None
    device: str | None = None
    clock: str | None = None  # a time of day on the form's date, e.g. "20:30"


def personas(settings: Settings, viewed: Sequence[str] = ()) -> list[Persona]:
    """The presets of the Try page (their names are interface texts: ``persona_<key>``).

    ``viewed`` are ids of products from the shop's catalogue that the returning
    visitors have looked at, so their recommendations have something to go on.
    """
    history = (f"history.viewed_products=[{', '.join(viewed)}]",) if viewed else ()
    bought = (f"user.purchased=[{viewed[-1]}]",) if viewed else ()
    threshold = settings.basket.free_shipping_threshold
    gap = 79.0
    basket = ["basket.empty=false", "basket.count=2", f"basket.free_shipping_gap={gap:g}"]
    basket.append(f"basket.total={threshold - gap:g}" if threshold and threshold > gap else "basket.total=420")
    return [
        Persona("first-visit", ("visitor.returning=false",), url="/"),
        Persona("returning", ("visitor.returning=true", "visitor.visits=4", "visitor.days_since_last_visit=6",
                              *history), url="/"),
        Persona("vip", ("visitor.returning=true", "user.logged_in=true", "user.first_name=Anna",
                        "user.name=Anna Jensen", "user.email=anna@example.com", 'user.phone="+45 12 34 56 78"',
                        "user.tier=gold", "user.orders=14", *bought, *history), url="/pricing"),
        Persona("mobile-evening", ("visitor.returning=true",), url="/", device="mobile", clock="20:30"),
        Persona("near-free-shipping", tuple(basket), url="/basket"),
        Persona("swedish", ("geo.country=SE", "geo.eu=true"), url="/", language="sv-SE,sv;q=0.9,en;q=0.8"),
        Persona("newsletter", ("visitor.returning=true",), url="/?utm_source=newsletter&utm_medium=email"),
    ]  # fmt: skip


@dataclass
class TryForm:
    """The Try page's fields, as the query string carries them (every page of the console links with it)."""

    url: str = "/"
    at: str = ""  # shop time, as a datetime-local field writes it: 2026-11-25T10:00
    language: str = ""  # the browser's Accept-Language
    device: str = ""  # a key of DEVICES, or "" for no User-Agent
    visitor_id: str = ""
    sets: str = ""  # SIGNAL=VALUE, one a line, as `smalldata try --set` takes them
    caps: str = ""  # RULE=COUNT, one a line: how often the visitor has had a capped rule (as a test's caps:)
    picked: str = ""  # the persona the fields started from: the persona box keeps showing it

    @classmethod
    def from_query(cls, query: Mapping[str, str], settings: Settings, now: datetime,
                   viewed: Sequence[str] = ()) -> TryForm:
        """The form a query asks for; ``persona=`` fills it with that preset (keeping the date)."""
        form = cls(**{f.name: query[f.name].strip() for f in fields(cls) if f.name in query})
        if not form.at:
            form.at = now.astimezone(settings.zone).strftime("%Y-%m-%dT%H:%M")
        if form.device not in DEVICES:
            form.device = ""
        preset = next((p for p in personas(settings, viewed) if p.key == query.get("persona")), None)
        return form if preset is None else form.with_persona(preset)

    def with_persona(self, persona: Persona) -> TryForm:
        clock = f"{self.at[:10]}T{persona.clock}" if persona.clock and len(self.at) >= 10 else self.at
        return replace(self, url=persona.url or self.url, sets="\n".join(persona.sets), at=clock,
                       language=persona.language or "", device=persona.device or "", picked=persona.key)

    def set_lines(self) -> list[str]:
        return _lines(self.sets)

    def cap_counts(self, rule_ids: Collection[str]) -> StaticCaps | None:
        """The cap counts given (None when none are: caps are not counted, as in ``smalldata try``)."""
        counts: dict[str, int] = {}
        problems = []
        for line in _lines(self.caps):
            rule, _, count = (part.strip() for part in line.partition("="))
            if rule not in rule_ids:
                problems.append(f"caps: unknown rule '{rule}'{did_you_mean(rule, list(rule_ids))}")
            elif not count.isdigit():
                problems.append(f"caps: {rule}={count}: write RULE=COUNT, e.g. {rule}=1")
            else:
                counts[rule] = int(count)
        if problems:
            raise ValueError("\n".join(problems))
        return StaticCaps(counts) if counts else None

    def query(self, **extra: str) -> str:
        """This form as a query string (for the preview link, the slider, the persona buttons)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return urlencode({key: value for key, value in {**values, **extra}.items() if value})

    def imagined(self, settings: Settings, at: datetime | None = None) -> Imagined:
        """The imagined request; ``ValueError`` naming every value that cannot be used."""
        given = parse_sets(self.set_lines(), settings.signal_catalog, option="")  # a form: no command-line words
        moment = at or (parse_moment(self.at, settings) if self.at else None)
        visitor_id = self.visitor_id or str(given.get("visitor.id") or DEFAULT_VISITOR_ID)
        return Imagined(given=given, url=self.url or "/", user_agent=DEVICES.get(self.device), at=moment,
                        language=self.language or None, visitor_id=visitor_id)


@dataclass
class Tried:
    """The Try page's answer: the decision with its trace, the signals, and the day's timeline."""

    decision: Decision
    signals: dict[str, Any]
    moment: datetime
    timeline: list[RuleDay] = field(default_factory=list)


@dataclass
class RuleDay:
    """When one rule is on during the form's day: one letter per step (``m`` matched, ``s`` shadowed, ``-``)."""

    rule: str
    steps: str

    def spans(self, letter: str = "m") -> list[tuple[int, int]]:
        """The runs of ``letter`` as (first step, step after the last)."""
        runs: list[tuple[int, int]] = []
        start: int | None = None
        for index, value in enumerate([*self.steps, "-"]):
            if value == letter and start is None:
                start = index
            elif value != letter and start is not None:
                runs.append((start, index))
                start = None
        return runs

    def hours(self, letter: str = "m") -> list[str]:
        """``["09:00–17:00"]``: the runs of ``letter`` as times of day."""
        return [f"{clock(a)}–{clock(b)}" for a, b in self.spans(letter)]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def clock(step: int) -> str:
    minutes = step * STEP_MINUTES
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


async def try_visitor(form: TryForm, engine: Engine, settings: Settings,
                      recommender: CatalogueRecommender | None) -> Tried:
    """The decision for the form's visitor, recommendations filled, and the day's timeline.

    Raises ``ValueError`` (every problem of the form at once) like ``smalldata try``.
    """
    imagined = form.imagined(settings)
    caps = form.cap_counts({rule.id for rule in engine.ruleset.rules})
    decision, signals = await imagined.decide(engine, settings, caps=caps)
    if recommender is not None:
        await recommender.resolve(decision, signals)
    shown = shown_signals(produced_signals(signals, settings.signal_catalog), engine.ruleset.reads)
    moment: datetime = signals["time.now"]
    return Tried(decision, shown, moment, await timeline(imagined, engine, settings, moment.date(), caps))


async def timeline(imagined: Imagined, engine: Engine, settings: Settings, day: date,
                   caps: CapCounts | None = None) -> list[RuleDay]:
    """Every rule's status at each step of ``day`` for this visitor: opening hours, windows and schedules."""
    letters: dict[str, list[str]] = {rule.id: [] for rule in engine.ruleset.rules}
    start = datetime.combine(day, time(), settings.zone)
    for step in range(STEPS):
        moment = start + timedelta(minutes=step * STEP_MINUTES)  # wall-clock steps in the shop's zone
        decision, _ = await replace(imagined, at=moment).decide(engine, settings, caps=caps)
        for entry in decision.trace or []:
            if entry.rule in letters:
                letters[entry.rule].append({"matched": "m", "shadowed": "s"}.get(entry.status, "-"))
    return [RuleDay(rule, "".join(steps)) for rule, steps in letters.items()]


def step_of(moment: datetime) -> int:
    """The timeline step a moment falls in."""
    return (moment.hour * 60 + moment.minute) // STEP_MINUTES
