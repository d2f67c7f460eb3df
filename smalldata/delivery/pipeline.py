"""The real personaliser: request → signals → visitor state → rules → a :class:`Visit`.

One request, in order:

1. consent (cookie + ``Sec-GPC``) decides whether visitor state may be read at all;
2. signals are built lazily and the remote namespaces the rules read are prefetched;
3. the visitor state is loaded, this page view counted and its product/category
   remembered, so rules see "this visit, including this page";
4. the engine decides; recommendation slots get their items from the recommender;
5. only when the response turns out to be an HTML page is the decision recorded
   (caps, tags, exposures) and the state saved — an image or a JSON call is not
   a page view and must not use up a chat cap. New exposures go to the event log.

A request carrying a valid signed preview token (``?sd_preview=…``, see
:mod:`smalldata.preview`) is decided with the token's signal overrides, moment
and forced variants; nothing of it is saved (no cookie, no caps, no tags), its
exposures are logged as ``forced`` and the response is ``private, no-store``.
An unsigned, tampered or expired token is ignored: the normal page.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from starlette.types import Scope

from smalldata.catalogue import open_catalogue
from smalldata.decision import Decision, Exposure, Recommendation
from smalldata.delivery.live_rules import LiveRules
from smalldata.delivery.visit import ClientEvent, Visit
from smalldata.events import EventLog, EventSink, NullSink, make_sink
from smalldata.preview import Preview, preview_from_query, preview_keys
from smalldata.recommend import READS as RECOMMENDER_READS
from smalldata.recommend import Recommender as CatalogueRecommender
from smalldata.rules import Engine
from smalldata.settings import Settings, load_settings
from smalldata.signals.base import Signals
from smalldata.signals.campaign import campaign_from_request
from smalldata.signals.catalog import NAMESPACES
from smalldata.signals.clock import system_clock
from smalldata.signals.consent import consent_signals
from smalldata.signals.context import parse_cookies
from smalldata.signals.request import RequestSignals, signals_for
from smalldata.state import CapView, ConsentSettings, Period, StateStore, VisitorState, make_store

logger = logging.getLogger("smalldata")

# A chat the visitor dismissed stays away for the rest of the day (shop time zone).
DISMISSED_PREFIX = "dismissed:"


class Recommender(Protocol):
    """Fills a recommendation slot with items (``id``, ``name``, ``url``, ``image``, ``price``, ``currency``)."""

    def __call__(self, recommendation: Recommendation, signals: Signals) -> Awaitable[list[dict[str, Any]]]: ...


class RulesPersonaliser:
    """Implements :class:`~smalldata.delivery.visit.Personaliser` with the real parts.

    ``events`` receives exposures and client events (default: a log that drops
    them); ``preview_keys`` verify preview tokens (empty: previews are off).
    """

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
        events: EventLog | None = None,
        preview_keys: tuple[bytes, ...] = (),
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
        self.events = events if events is not None else EventLog(NullSink())
        self.preview_keys = preview_keys
        self._preview_param = settings.preview.param
        self._needs_cache: tuple[Engine, frozenset[str], tuple[str, ...]] | None = None
        # Only a store that files state under the user needs to know who is logged in: otherwise
        # the user namespace (a session read, the app's callable, the CRM) waits for a rule to ask.
        self._keys_users = bool(getattr(store, "keys_users", True))

    async def begin(self, scope: Scope, *, path: str | None = None) -> Visit | None:
        if self.rules.due():
            await self.rules.refresh()
        engine = self.rules.engine  # one ruleset for the whole request, even if a reload swaps it
        if path is not None:
            scope = _scope_for_path(scope, path)
        now = self.clock()
        preview = self._preview(scope, now)
        overrides = None
        if preview is not None:
            now, overrides = preview.at or now, preview.overrides
        signals = signals_for(dict(scope), self.settings, now=now, overrides=overrides, sources=self.sources)
        ctx = signals.ctx
        storage = bool(consent_signals(ctx.headers, ctx.cookies, self.consent)["consent.storage"])
        remote, vary = self._needs(engine)
        if remote:  # awaiting prefetch schedules tasks on the event loop (~25 us) even when none fetches
            await signals.prefetch(remote)
        user_id = _user_id(signals) if self._keys_users else None
        state = await self._load_state(signals, storage, user_id)
        if preview is not None:
            return await self._preview_visit(engine, signals, state, preview, vary, scope["path"])
        return await self._page_visit(engine, signals, state, storage, vary, scope, user_id)

    async def _page_visit(
        self,
        engine: Engine,
        signals: RequestSignals,
        state: VisitorState | None,
        storage: bool,
        vary: tuple[str, ...],
        scope: Scope,
        user_id: str | None,
    ) -> Visit:
        """The page as this visitor sees it; recorded (caps, tags, exposures, cookie) once it is a page."""
        now = signals.ctx.now
        caps = state.caps_at(now) if state is not None else None
        decision = engine.decide(signals, caps=caps, visitor_id=state.id if state is not None else None)
        if caps is not None:
            _drop_dismissed_chat(decision, caps)
        if decision.recommendations and self.recommender is not None:
            await self._recommend(decision, signals)
        self.counters["decisions"] += 1
        secure = scope.get("scheme") == "https"
        page_path: str = scope["path"]

        async def record(page: bool) -> tuple[list[str], list[Exposure] | None]:
            if not page or state is None:
                return [], None
            exposures = state.apply(decision, now)
            cookies = await self.store.save(state, storage=storage, secure=secure, user_id=user_id)
            if exposures:
                self._log_exposures(exposures, state.id, decision.ruleset_version, page_path)
            return cookies, exposures

        return Visit(decision, vary, record)

    def _preview(self, scope: Scope, now: datetime) -> Preview | None:
        """The valid preview this request asks for, if any (a cheap byte test for every other request)."""
        query: bytes = scope.get("query_string", b"")
        if not self.preview_keys or self._preview_param.encode() not in query:
            return None
        preview = preview_from_query(query, self.preview_keys, now, self._preview_param)
        self.counters["previews" if preview is not None else "previews.refused"] += 1
        return preview

    async def _preview_visit(
        self,
        engine: Engine,
        signals: RequestSignals,
        state: VisitorState | None,
        preview: Preview,
        vary: tuple[str, ...],
        page_path: str,
    ) -> Visit:
        """The page as the token's imagined visitor sees it: no caps used, nothing saved."""
        visitor_id = state.id if state is not None else None
        decision = engine.decide(signals, visitor_id=visitor_id, forced=preview.variants)
        await self._recommend(decision, signals)
        self.counters["decisions"] += 1

        async def record(page: bool) -> tuple[list[str], list[Exposure] | None]:
            if page:  # every exposure of a preview is forced: reports leave them all out
                forced = [dataclasses.replace(e, forced=True) for e in decision.exposures]
                self._log_exposures(forced, visitor_id, decision.ruleset_version, page_path)
            return [], []

        return Visit(decision, vary, record, no_store=True)

    async def _load_state(self, signals: RequestSignals, storage: bool, user_id: str | None) -> VisitorState | None:
        ctx = signals.ctx
        state = await self.store.load(ctx.cookies, now=ctx.now, storage=storage, user_id=user_id)
        if state is None:
            return None
        if state.touch(ctx.now):
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

    def _log_exposures(self, exposures: Iterable[Exposure], visitor_id: str | None, version: str, path: str) -> None:
        try:
            self.events.exposures(exposures, visitor_id=visitor_id, ruleset_version=version, path=path)
        except Exception:  # analytics must never cost the visitor the page or the cookie
            logger.exception("smalldata: logging exposures failed for %s", path)

    def _needs(self, engine: Engine) -> tuple[frozenset[str], tuple[str, ...]]:
        """The namespaces to prefetch and the request headers to ``Vary`` on, once per ruleset."""
        cached = self._needs_cache
        if cached is not None and cached[0] is engine:
            return cached[1], cached[2]
        namespaces = engine.ruleset.namespaces
        if self.recommender is not None and _recommends(engine):
            namespaces = namespaces | _RECOMMENDER_NAMESPACES  # the recommender reads basket, user, history
        vary = []
        if "device" in namespaces:
            vary.append("User-Agent")
        if len(self.settings.languages) > 1 or "page" in namespaces:
            vary.append("Accept-Language")  # texts are chosen by language
        remote = frozenset(namespace for namespace in namespaces if self._may_fetch(namespace))
        self._needs_cache = (engine, remote, tuple(vary))
        return remote, tuple(vary)

    def _may_fetch(self, namespace: str) -> bool:
        """Could prefetching ``namespace`` await anything?

        Of the built-in namespaces only ``user`` and ``basket`` fetch, and only
        with a callable or a service configured; a namespace a shop registered
        itself may have a prefetcher, so it is asked.
        """
        if namespace == "user":
            return bool(self.settings.user.callable) or getattr(self.sources, "profile", None) is not None
        if namespace == "basket":
            return bool(self.settings.basket.callable) or getattr(self.sources, "basket", None) is not None
        return namespace not in NAMESPACES

    async def record_event(self, scope: Scope, event: ClientEvent) -> list[str]:
        self._log_client_event(scope, event)
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

    def _log_client_event(self, scope: Scope, event: ClientEvent) -> None:
        try:
            self.events.client_event(event, visitor_id=self.visitor_key(scope))
        except Exception:
            logger.exception("smalldata: logging a %s event failed", event.type)

    def visitor_key(self, scope: Scope) -> str | None:
        codec: Any = getattr(self.store, "cookies", self.store)
        try:
            data = codec.read_cookie(parse_cookies(_header(scope, b"cookie")))
        except Exception:
            return None
        visitor_id = data.get("i") if isinstance(data, dict) else None
        return visitor_id if isinstance(visitor_id, str) else None

    def health(self) -> dict[str, Any]:
        data = self.rules.health()
        data["events"] = self.events.stats()
        catalogue = _catalogue_health(self.recommender)
        if catalogue is not None:
            data["catalogue"] = catalogue
        return data

    async def aclose(self) -> None:
        """Release connections and write pending events (at shutdown); one failure does not stop the rest."""
        closers = [self.store.aclose, self.events.aclose]
        for part in (self.sources, self.recommender):
            if part is not None and hasattr(part, "aclose"):
                closers.append(part.aclose)
        for close in closers:
            try:
                await close()
            except Exception:
                logger.exception("smalldata: closing %r at shutdown failed", close)


_RECOMMENDER_NAMESPACES = frozenset(name.split(".", 1)[0] for name in RECOMMENDER_READS)


def _recommends(engine: Engine) -> bool:
    return any(slot.startswith("recommend:") for rule in engine.ruleset.rules for slot in rule.slots)


def _catalogue_health(recommender: Any) -> dict[str, Any] | None:
    """Products, skipped rows and the last load error of a file catalogue behind the recommender."""
    catalogue = getattr(recommender, "catalogue", None)
    if catalogue is None or not hasattr(catalogue, "problems"):
        return None
    error = getattr(catalogue, "error", None)
    return {
        "products": len(catalogue.products()),
        "skipped_rows": [str(problem) for problem in catalogue.problems],
        "error": str(error) if error is not None else None,
    }


def _drop_dismissed_chat(decision: Decision, caps: CapView) -> None:
    chat = decision.chat
    if chat is not None and caps.count(DISMISSED_PREFIX + chat.rule, "day") > 0:
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
    events: EventSink | None = None,
    **options: Any,
) -> RulesPersonaliser:
    """Load settings, rules and catalogue (raising :class:`ProblemsError` when broken) and wire the parts.

    ``settings`` are used as given, else read from ``config``. Relative paths in
    them (``catalogue.path``, the events file) start at the folder of ``config``,
    or the working directory without one. Without a ``recommender``, a configured
    ``catalogue.path`` gives the built-in :class:`~smalldata.recommend.Recommender`;
    without ``events`` (a sink), exposures and client events go where ``events:`` says.
    """
    if settings is None:
        settings = load_settings(config)
    base = Path(config).parent if config is not None else None
    live = LiveRules(rules if rules is not None else settings.rules, settings)
    if recommender is None:
        catalogue = open_catalogue(settings.catalogue, base=base)
        recommender = CatalogueRecommender(catalogue, settings.recommender) if catalogue is not None else None
    return RulesPersonaliser(
        live,
        settings,
        store=store or make_store(settings.state),
        consent=settings.consent,
        clock=clock or system_clock,
        recommender=recommender,
        sources=options.pop("sources", None) or _sources(settings),
        counters=counters,
        events=EventLog(events if events is not None else make_sink(settings.events, base=base)),
        preview_keys=preview_keys(settings.preview, settings) if settings.preview.enabled else (),
        **options,
    )


def _sources(settings: Settings) -> Any:
    try:
        from smalldata.sources import Sources
    except ImportError:  # pragma: no cover - optional while sources are being built
        return None
    return Sources.from_settings(settings)


__all__ = ["DISMISSED_PREFIX", "Recommender", "RulesPersonaliser", "build_personaliser"]
