"""The page personaliser: a request → its signals and visitor state → a complete decision → a :class:`Visit`.

One request, in order, running the current :class:`~smalldata.delivery.plan.RequestPlan`:

1. consent (``Sec-GPC`` and the consent cookie) decides whether visitor state may
   be read at all;
2. the remote sources the rules read are awaited (user profile, basket service);
3. the visitor state is loaded, this page view counted and its product/category
   remembered, so rules see "this visit, including this page";
4. the engine decides, caps and dismissed invitations included; recommendation
   slots get their items from the recommender;
5. only when the response turns out to be an HTML page is the decision recorded
   (caps, tags, exposures) and the state saved, and only if it changed — an image
   or a JSON call is not a page view and must not use up a chat cap. New
   exposures go to the event log.

A request carrying a valid signed preview token (``?sd_preview=…``, see
:mod:`smalldata.preview.links`) is decided with the token's signal overrides, moment
and forced variants; nothing of it is saved (no cookie, no caps, no tags), its
exposures are logged as ``forced`` and the response is ``private, no-store``.
An unsigned, tampered or expired token is ignored: the normal page.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from starlette.types import Scope

from smalldata.decision import Decision, Exposure, Recommendation, Slot
from smalldata.delivery.live_rules import LiveRules
from smalldata.delivery.plan import RequestPlan
from smalldata.delivery.visit import Visit
from smalldata.events import EventLog
from smalldata.preview.links import Preview, preview_from_query
from smalldata.rules.drafts import DraftPlans
from smalldata.rules.engine import CapCounts
from smalldata.signals.base import Signals
from smalldata.signals.catalog import BUILT_IN, SignalCatalog
from smalldata.signals.device import TYPES
from smalldata.signals.providers import Providers
from smalldata.signals.request import Request, RequestSignals, run_prefetch
from smalldata.state import CapClaim, Period, StateStore, VisitorState

logger = logging.getLogger("smalldata")


class Recommender(Protocol):
    """Fills a recommendation slot with items (``id``, ``name``, ``url``, ``image``, ``price``, ``currency``)."""

    def __call__(self, recommendation: Recommendation, signals: Signals) -> Awaitable[list[dict[str, Any]]]: ...


class Previews:
    """Reads the signed preview token a request may carry (see :mod:`smalldata.preview.links`)."""

    def __init__(self, keys: tuple[bytes, ...], param: str, counters: Counter[str],
                 catalog: SignalCatalog = BUILT_IN) -> None:
        self.keys = keys
        self.param = param.encode()
        self.counters = counters
        self.catalog = catalog

    def read(self, scope: Scope, now: datetime) -> Preview | None:
        """The valid preview this request asks for, if any (a cheap byte test for every other request)."""
        query: bytes = scope.get("query_string", b"")
        if not self.keys or self.param not in query:
            return None
        preview = preview_from_query(query, self.keys, now, self.param.decode(), self.catalog)
        self.counters["previews" if preview is not None else "previews.refused"] += 1
        return preview


class PagePersonaliser:
    """Decides for every page (implements :class:`~smalldata.delivery.visit.Pages`).

    ``rules`` is the live ruleset and its plan; ``providers`` the shop's signal
    providers; ``store`` where visitor state lives; ``clock`` returns an aware
    ``datetime`` and ``zone`` is the shop's time zone; ``recommender`` fills
    recommendation slots; ``events`` receives exposures; ``previews`` reads preview
    tokens (None: previews are off); ``search_param`` is the query parameter of a
    site search, remembered in the visitor's history.
    """

    def __init__(
        self,
        rules: LiveRules,
        providers: Providers,
        store: StateStore,
        *,
        clock: Callable[[], datetime],
        zone: ZoneInfo,
        events: EventLog,
        counters: Counter[str],
        recommender: Recommender | None = None,
        previews: Previews | None = None,
        sources: Any = None,
        search_param: str = "q",
    ) -> None:
        self.rules = rules
        self.drafts = DraftPlans(rules.folder, rules.settings, rules.compile)  # for preview links with drafts
        self.providers = providers
        self.store = store
        self.clock = clock
        self.zone = zone
        self.events = events
        self.counters = counters
        self.recommender = recommender
        self.previews = previews
        self.sources = sources
        self.search_param = search_param

    async def begin(self, scope: Scope, *, path: str | None = None) -> Visit | None:
        """Decide for ``scope`` (or for the page ``path``, asked by ``/decide``)."""
        rules = self.rules
        if rules.due():
            rules.poll()  # a changed folder reloads in the background: this request keeps the current plan
        plan = rules.plan  # one plan for the whole request, even if a reload swaps it
        if path is not None:
            scope = _scope_for_path(scope, path)
        moment = self.clock()
        preview = self.previews.read(scope, moment) if self.previews is not None else None
        if preview is not None:
            if preview.draft is not None:  # the link's drafts, for this request only (stale: the live rules)
                plan = self.drafts.plan(preview.draft) or plan
            return await self._preview(scope, moment, preview, plan)
        request = Request(scope, moment, zone=self.zone, sources=self.sources)
        signals = RequestSignals(request, self.providers.map)
        storage = self.providers.consent.allows(request)  # decided once: rules read the same answer
        signals["consent.storage"] = signals["consent.personalisation"] = storage
        if plan.prefetch:
            await self._prefetch(plan, request)
        if not storage:
            decision = await self._decide(plan, signals)
            return Visit(decision, plan.vary)
        user_id = await self.user_of(request)
        state = await self.load_visitor(request, user_id)
        self.count_page(state, request, signals, plan)
        if not plan.counts_caps:
            decision = await self._decide(plan, signals, visitor_id=state.id)
            recording = _Recording(self.store, self.events, decision, state, None, request, user_id)
            return Visit(decision, plan.vary, recording, personal=True)
        period = state.period(request.now)
        caps = state.caps_at(period)
        decision = plan.engine.decide(signals, caps=caps, visitor_id=state.id)
        claims: list[CapClaim] = []
        if decision.cap_hits:
            decision, claims = await self._claim(plan, signals, state, period, caps, decision)
        await self._complete(decision, signals)
        recording = _Recording(self.store, self.events, decision, state, period, request, user_id, claims)
        return Visit(decision, plan.vary, recording, personal=True)

    async def _decide(self, plan: RequestPlan, signals: RequestSignals, *, caps: CapCounts | None = None,
                      visitor_id: str | None = None, forced: Mapping[str, str] | None = None) -> Decision:
        """The engine's decision, its recommendation slots filled."""
        decision = plan.engine.decide(signals, caps=caps, visitor_id=visitor_id, forced=forced)
        await self._complete(decision, signals)
        return decision

    async def _complete(self, decision: Decision, signals: RequestSignals) -> None:
        if decision.recommendations:
            await self._recommend(decision, signals)
        self.counters["decisions"] += 1

    async def _claim(self, plan: RequestPlan, signals: RequestSignals, state: VisitorState, period: Period,
                     caps: CapCounts, decision: Decision) -> tuple[Decision, list[CapClaim]]:
        """Count the decision's capped rules where every worker sees them (the store's ``claim``).

        Parallel requests of one visitor all load a state in which the cap is not reached
        yet; the store lets as many of them through as the cap allows, and the rest are
        decided again with those rules capped. The chat invitation also carries its cap
        and period, so the visitor's browser holds it where no server sees every response.
        """
        ruleset = plan.ruleset
        granted: list[CapClaim] = []
        refused: set[str] = set()
        asked: set[str] = set()
        while True:
            claims = []
            for rule_id in decision.cap_hits:
                rule = ruleset.rule(rule_id)
                if rule_id not in asked and rule is not None and rule.cap is not None:
                    cap = rule.cap
                    seen = caps.count(rule_id, cap.per)
                    claims.append(CapClaim(rule_id, cap.max, cap.per, period.key(cap.per), seen))
            if not claims:
                break
            answers = await self.store.claim(state, claims)
            for claim, answer in zip(claims, answers, strict=True):
                asked.add(claim.rule)
                if answer:
                    granted.append(claim)
                else:
                    refused.add(claim.rule)
            if all(answers):
                break
            self.counters["caps.refused"] += len(answers) - sum(answers)
            decision = plan.engine.decide(signals, caps=_Refused(caps, refused), visitor_id=state.id)
        unused = [claim for claim in granted if claim.rule not in decision.cap_hits]
        if unused:
            await self.store.release(state, unused)
            granted = [claim for claim in granted if claim.rule in decision.cap_hits]
        chat_rule = decision.slot_rules.get(Slot.CHAT)
        for claim in granted:
            if claim.rule == chat_rule:
                decision.chat_cap = {"max": claim.max, "per": claim.per, "period": f"{claim.per}:{claim.period}"}
        return decision, granted

    async def _prefetch(self, plan: RequestPlan, request: Request, overrides: dict[str, Any] | None = None) -> None:
        # user.callable runs only for what needs it: user.*, or a basket service or declared url keyed by the id
        jobs = self.providers.map.prefetchers(plan.prefetch, request, overrides or {})
        await run_prefetch(jobs, request)

    async def user_of(self, request: Request) -> str | None:
        """The logged-in user's id when the store keys state by user (else None: nobody asks)."""
        if not self.store.keys_users:
            return None
        await self.providers.users.resolve(request)  # user.callable: once per request, off the loop
        return self.providers.users.user_id(request)

    async def load_visitor(self, request: Request, user_id: str | None) -> VisitorState:
        """The visitor's stored state (a new visitor when there is none), kept on ``request``."""
        store = self.store
        state = request.state = await store.load(request.cookies, now=request.epoch, user_id=user_id)
        if store.keys_users and not state.transient and TYPES.is_bot(request):
            state.transient = True  # a crawler's pages never cost a server store anything
        return state

    def count_page(self, state: VisitorState, request: Request, signals: RequestSignals, plan: RequestPlan) -> None:
        """This page view in the visitor's state: the visit, its campaign, the product, category and search."""
        if state.touch(request.epoch, count_pageviews=plan.counts_pageviews) and plan.keeps_campaign:
            state.set_campaign(self.providers.campaign.of(request))
        search = request.query.get(self.search_param) if request.scope.get("query_string") else None
        state.record_page(signals["page.product"], signals["page.category"], search)

    async def _preview(self, scope: Scope, moment: datetime, preview: Preview, plan: RequestPlan) -> Visit:
        """The page as the token's imagined visitor sees it: no caps used, nothing saved."""
        request = Request(scope, preview.at or moment, zone=self.zone, sources=self.sources)
        signals = RequestSignals(request, self.providers.map, preview.overrides)
        storage = self.providers.consent.allows(request)
        for name in ("consent.storage", "consent.personalisation"):
            if name not in signals:
                signals[name] = storage
        if plan.prefetch:
            await self._prefetch(plan, request, signals.overrides)
        visitor_id = self.store.visitor_id(request.cookies) if storage else None
        decision = await self._decide(plan, signals, visitor_id=visitor_id, forced=preview.variants)
        page_path: str = scope["path"]
        events = self.events

        async def record(page: bool) -> tuple[list[str], list[Exposure] | None]:
            if page:  # every exposure of a preview is forced: reports leave them all out
                forced = [dataclasses.replace(e, forced=True) for e in decision.exposures]
                log_exposures(events, forced, visitor_id, decision.ruleset_version, page_path)
            return [], []

        return Visit(decision, plan.vary, record, no_store=True)

    async def _recommend(self, decision: Decision, signals: Signals) -> None:
        if self.recommender is None:
            return
        for recommendation in decision.recommendations.values():
            try:
                items = await self.recommender(recommendation, signals)
            except Exception:  # a broken recommender leaves the slot as the page has it
                logger.exception("smalldata: recommender failed for slot %r", recommendation.slot)
                continue
            recommendation.items = items[: recommendation.limit]


class _Recording:
    """How a visit with a visitor is recorded (the :class:`~smalldata.delivery.visit.Recorder` of its
    :class:`~smalldata.delivery.visit.Visit`): once it is known to be a page, its caps, tags and
    exposures go into the state, saved if anything in it changed; a response that is no page gives
    back the caps it claimed. It holds only what that takes: the store, the event log, the state."""

    __slots__ = ("claims", "decision", "events", "period", "request", "state", "store", "user_id")

    def __init__(self, store: StateStore, events: EventLog, decision: Decision, state: VisitorState,
                 period: Period | None, request: Request, user_id: str | None,
                 claims: list[CapClaim] | None = None) -> None:
        self.store = store
        self.events = events
        self.decision = decision
        self.state = state
        self.period = period
        self.request = request
        self.user_id = user_id
        self.claims = claims

    async def __call__(self, page: bool) -> tuple[list[str], list[Exposure] | None]:
        state, decision = self.state, self.decision
        if not page:
            if self.claims:  # not a page view: the caps it claimed were not used
                await self.store.release(state, self.claims)
            return [], None
        period = self.period if self.period is not None or not decision.cap_hits else self.request.now
        exposures = state.apply(decision, period)
        cookies: list[str] = []
        if state.changed:
            scope = self.request.scope
            cookies = await self.store.save(state, secure=scope.get("scheme") == "https", user_id=self.user_id)
        if exposures:
            log_exposures(self.events, exposures, state.id, decision.ruleset_version, self.request.scope["path"])
        return cookies, exposures


def log_exposures(events: EventLog, exposures: Iterable[Exposure], visitor_id: str | None, version: str,
                  path: str) -> None:
    """New exposures to the event log; a failing log costs the visitor nothing."""
    try:
        events.exposures(exposures, visitor_id=visitor_id, ruleset_version=version, path=path)
    except Exception:  # analytics must never cost the visitor the page or the cookie
        logger.exception("smalldata: logging exposures failed for %s", path)


class _Refused:
    """Cap counts with the rules whose claim was refused counted as capped."""

    __slots__ = ("caps", "refused")

    def __init__(self, caps: CapCounts, refused: set[str]) -> None:
        self.caps = caps
        self.refused = refused

    def count(self, rule_id: str, per: str) -> int:
        return 1 << 30 if rule_id in self.refused else self.caps.count(rule_id, per)


def _scope_for_path(scope: Scope, path: str) -> Scope:
    """The scope of the page ``path`` (from ``/decide``), keeping the visitor's headers."""
    page, _, query = path.partition("?")
    return {**scope, "path": page, "raw_path": page.encode(), "query_string": query.encode(), "state": {}}
