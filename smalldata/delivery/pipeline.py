"""The real personaliser: request → signals → visitor state → rules → a :class:`Visit`.

One request, in order:

1. consent (cookie + ``Sec-GPC``) decides whether visitor state may be read at all;
2. signals are built lazily and the remote namespaces the rules read are prefetched;
3. the visitor state is loaded, this page view counted and its product/category
   remembered, so rules see "this visit, including this page";
4. the engine decides; recommendation slots get their items from the recommender;
5. only when the response turns out to be an HTML page is the decision recorded
   (caps, tags, exposures) and the state saved — an image or a JSON call is not
   a page view and must not use up a chat cap.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from starlette.types import Scope

from smalldata.decision import Decision, Exposure, Recommendation
from smalldata.delivery.live_rules import LiveRules
from smalldata.delivery.visit import ClientEvent, Visit
from smalldata.rules import Engine
from smalldata.settings import Settings, load_settings
from smalldata.signals.base import Signals
from smalldata.signals.clock import system_clock
from smalldata.signals.consent import consent_signals
from smalldata.signals.context import parse_cookies
from smalldata.signals.request import RequestSignals, signals_for
from smalldata.state import ConsentSettings, Period, StateSettings, StateStore, VisitorState, make_store

logger = logging.getLogger("smalldata")

# A chat the visitor dismissed stays away for the rest of the day (shop time zone).
DISMISSED_PREFIX = "dismissed:"


class Recommender(Protocol):
    """Fills a recommendation slot with items (``id``, ``name``, ``url``, ``image``, ``price``, ``currency``)."""

    def __call__(self, recommendation: Recommendation, signals: Signals) -> Awaitable[list[dict[str, Any]]]: ...


class RulesPersonaliser:
    """Implements :class:`~smalldata.delivery.visit.Personaliser` with the real parts."""

    def __init__(
        self,
        rules: LiveRules,
        settings: Settings,
        *,
        store: StateStore,
        consent: ConsentSettings,
        clock: Callable[[], datetime] = system_clock,
        recommender: Recommender | None = None,
        sources: Any = None,
        counters: Counter[str] | None = None,
        search_param: str = "q",
    ) -> None:
        self.rules = rules
        self.settings = settings
        self.store = store
        self.consent = consent
        self.clock = clock
        self.recommender = recommender
        self.sources = sources
        self.counters = counters if counters is not None else Counter()
        self.search_param = search_param
        self._needs_cache: tuple[Engine, frozenset[str], tuple[str, ...]] | None = None

    async def begin(self, scope: Scope, *, path: str | None = None) -> Visit | None:
        await self.rules.refresh()
        engine = self.rules.engine  # one ruleset for the whole request, even if a reload swaps it
        if path is not None:
            scope = _scope_for_path(scope, path)
        signals = signals_for(dict(scope), self.settings, now=self.clock(), sources=self.sources)
        ctx = signals.ctx
        storage = bool(consent_signals(ctx.headers, ctx.cookies, self.consent)["consent.storage"])
        namespaces, vary = self._needs(engine)
        await signals.prefetch(namespaces)
        state = await self._load_state(signals, storage)
        decision = engine.decide(
            signals, caps=state.caps_at(ctx.now) if state else None, visitor_id=state.id if state else None
        )
        if state is not None:
            _drop_dismissed_chat(decision, state, ctx.now)
        await self._recommend(decision, signals)
        self.counters["decisions"] += 1
        secure = scope.get("scheme") == "https"

        async def record(page: bool) -> tuple[list[str], list[Exposure] | None]:
            if not page or state is None:
                return [], None
            exposures = state.apply(decision, ctx.now)
            cookies = await self.store.save(state, storage=storage, secure=secure, user_id=_user_id(signals))
            return cookies, exposures

        return Visit(decision, vary, record)

    async def _load_state(self, signals: RequestSignals, storage: bool) -> VisitorState | None:
        ctx = signals.ctx
        state = await self.store.load(ctx.cookies, now=ctx.now, storage=storage, user_id=_user_id(signals))
        if state is None:
            return None
        if state.touch(ctx.now):
            from smalldata.signals.campaign import campaign_from_request

            state.set_campaign(campaign_from_request(ctx))
        query = signals.get("page.query") or {}
        state.record_page(signals.get("page.product"), signals.get("page.category"), query.get(self.search_param))
        ctx.visitor = state
        return state

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

    def _needs(self, engine: Engine) -> tuple[frozenset[str], tuple[str, ...]]:
        """The namespaces to prefetch and the request headers to ``Vary`` on, once per ruleset."""
        cached = self._needs_cache
        if cached is not None and cached[0] is engine:
            return cached[1], cached[2]
        namespaces = engine.ruleset.namespaces
        vary = []
        if "device" in namespaces:
            vary.append("User-Agent")
        if len(self.settings.languages) > 1 or "page" in namespaces:
            vary.append("Accept-Language")  # texts are chosen by language
        self._needs_cache = (engine, namespaces, tuple(vary))
        return namespaces, tuple(vary)

    async def record_event(self, scope: Scope, event: ClientEvent) -> list[str]:
        if event.type != "chat_dismissed" or event.rule is None:
            return []
        now = self.clock().astimezone(self.settings.zone)
        cookies = parse_cookies(_header(scope, b"cookie"))
        storage = bool(consent_signals(_headers(scope), cookies, self.consent)["consent.storage"])
        state = await self.store.load(cookies, now=now, storage=storage)
        if state is None or state.is_new:
            return []
        state.caps.hit(DISMISSED_PREFIX + event.rule, Period.at(state.visit_start or now, now))
        return await self.store.save(state, storage=storage, secure=scope.get("scheme") == "https")

    def visitor_key(self, scope: Scope) -> str | None:
        codec: Any = getattr(self.store, "cookies", self.store)
        try:
            data = codec.read_cookie(parse_cookies(_header(scope, b"cookie")))
        except Exception:
            return None
        visitor_id = data.get("i") if isinstance(data, dict) else None
        return visitor_id if isinstance(visitor_id, str) else None

    def health(self) -> dict[str, Any]:
        return self.rules.health()

    async def aclose(self) -> None:
        """Release the state store's and remote sources' connections (at shutdown)."""
        await self.store.aclose()
        if self.sources is not None and hasattr(self.sources, "aclose"):
            await self.sources.aclose()


def _drop_dismissed_chat(decision: Decision, state: VisitorState, now: datetime) -> None:
    chat = decision.chat
    if chat is not None and state.caps_at(now).count(DISMISSED_PREFIX + chat.rule, "day") > 0:
        decision.chat = None
        decision.slot_rules.pop("chat", None)


def _user_id(signals: Signals) -> str | None:
    user = signals.get("user.id") if signals.get("user.logged_in") else None
    return str(user) if user else None


def _scope_for_path(scope: Scope, path: str) -> Scope:
    """The scope of the page ``path`` (from ``/decide``), keeping the visitor's headers."""
    page, _, query = path.partition("?")
    return {**scope, "path": page, "raw_path": page.encode(), "query_string": query.encode(), "state": {}}


def _header(scope: Scope, name: bytes) -> str:
    values = [value.decode("latin-1") for key, value in scope.get("headers", ()) if key.lower() == name]
    return "; ".join(values)


def _headers(scope: Scope) -> dict[str, str]:
    return {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", ())}


def build_personaliser(
    *,
    rules: str | Path | None = None,
    config: str | Path | None = None,
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
    counters: Counter[str] | None = None,
    store: StateStore | None = None,
    recommender: Recommender | None = None,
    **options: Any,
) -> RulesPersonaliser:
    """Load settings and rules (raising :class:`ProblemsError` when broken) and wire the parts."""
    if settings is None:
        settings = load_settings(config)
    state_settings: StateSettings = getattr(settings, "state", None) or StateSettings()
    consent: ConsentSettings = getattr(settings, "consent", None) or ConsentSettings()
    live = LiveRules(rules if rules is not None else settings.rules, settings)
    return RulesPersonaliser(
        live,
        settings,
        store=store or make_store(state_settings),
        consent=consent,
        clock=clock or system_clock,
        recommender=recommender,
        sources=options.pop("sources", None) or _sources(settings),
        counters=counters,
        **options,
    )


def _sources(settings: Settings) -> Any:
    try:
        from smalldata.sources import Sources
    except ImportError:  # pragma: no cover - optional while sources are being built
        return None
    return Sources.from_settings(settings)


__all__ = ["DISMISSED_PREFIX", "Recommender", "RulesPersonaliser", "build_personaliser"]
