"""The request plan: what one ruleset needs of a request, worked out once when the rules load.

A request then runs the plan and nothing else: it awaits only the remote sources
the rules read, counts page views and keeps a visit's campaign only when a rule
reads them, looks at cap counters only when a rule is capped, and varies only on
the request headers the decision can depend on. The plan is rebuilt (with the
engine) on every reload, so an edit that starts reading ``device.*`` starts varying
on ``User-Agent`` at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from smalldata.decision import Slot
from smalldata.recommend.context import READS as RECOMMENDER_READS
from smalldata.rules.engine import Engine
from smalldata.rules.ruleset import Ruleset
from smalldata.signals.request import ProviderMap


@dataclass(frozen=True)
class RequestPlan:
    """A compiled ruleset and what its requests need."""

    engine: Engine
    reads: frozenset[str]  # every signal the rules, their texts and the recommender may read
    prefetch: tuple[str, ...]  # namespaces with remote data to await before deciding
    vary: tuple[str, ...]  # request headers a decision depends on (besides the cookies)
    counts_pageviews: bool  # a rule reads visitor.pageviews: count every page view
    keeps_campaign: bool  # a rule reads campaign.*: keep the visit's campaign in its state
    counts_caps: bool  # a rule has a frequency cap, or a chat invitation a visitor may dismiss

    @property
    def ruleset(self) -> Ruleset:
        return self.engine.ruleset

    @classmethod
    def compile(cls, ruleset: Ruleset, providers: ProviderMap, *, recommends: bool = True) -> RequestPlan:
        """The plan of ``ruleset``; ``recommends``: a recommender fills recommendation slots (it reads signals too)."""
        reads = ruleset.reads
        if recommends and any(slot.startswith(Slot.RECOMMEND) for rule in ruleset.rules for slot in rule.slots):
            reads |= RECOMMENDER_READS
        namespaces = dict.fromkeys(name.partition(".")[0] for name in sorted(reads))
        # the headers the read signals are computed from, as their namespace modules declare them
        vary = dict.fromkeys(providers.vary(reads))
        counts_caps = any(rule.cap is not None or Slot.CHAT in rule.slots for rule in ruleset.rules)
        # ``Sec-GPC: 1`` refuses storage: such a visitor's page is decided without their state, so a page that
        # reads it (or is capped, or assigns a variant by visitor) differs with the header
        if counts_caps or providers.stored.intersection(namespaces) or any(r.experiment for r in ruleset.rules):
            vary["Sec-GPC"] = None
        return cls(
            engine=Engine(ruleset),
            reads=reads,
            prefetch=tuple(namespace for namespace in namespaces if providers.fetches(namespace)),
            vary=tuple(vary),
            counts_pageviews="visitor.pageviews" in reads,
            keeps_campaign="campaign" in namespaces,
            counts_caps=counts_caps,
        )
