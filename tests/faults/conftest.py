"""The fault suite's shop (one uvicorn pair for the module), its visitors, and the figures it reports.

Without ``redis-server`` the suite is skipped locally, but fails under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from smalldata.state.codec import CookieCodec

try:  # the repository root on sys.path (python -m pytest)
    from tests.redis_server import require_redis_server
except ImportError:  # tests/ on sys.path (pytest's default rootdir insertion)
    from redis_server import require_redis_server  # type: ignore[no-redef]

from .crm import crm_server
from .harness import SECRET, Shop
from .load import Call, Shown, Tally, Visitor, client, mixed, run

WARM_UP = 300

_reports: list[dict[str, Any]] = []


@dataclass
class Crowd:
    """The visitors most phases share: shoppers, logged-in customers, and visitors who refuse storage
    (``Sec-GPC: 1``; ``tracked`` of them had a cookie before they did)."""

    shoppers: list[Visitor]
    customers: list[Visitor]
    private: list[Visitor]

    @property
    def everyone(self) -> list[Visitor]:
        """All of them, interleaved: every stretch of a mixed load has some of each."""
        rows = itertools.zip_longest(self.shoppers, self.customers, self.private)
        return [visitor for row in rows for visitor in row if visitor is not None]


@dataclass
class Suite:
    """The running shop and what the phases found; ``chats`` counts invitations per (visitor, cap period)
    shown while the visitor store was up, over every phase."""

    shop: Shop
    crowd: Crowd
    private_ids: dict[str, str]  # the visitor ids of the private visitors who had a cookie
    private_records: dict[str, bytes | None]  # their Redis records when they turned private
    events_at_private: int  # event lines written before they did
    rss_before: dict[int, float]
    chats: Counter[tuple[str, str]] = field(default_factory=Counter)
    shown: list[Shown] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def tally(self) -> Tally:
        return Tally(chats=self.chats, shown=self.shown, store_away=self.shop.store.away)

    def client(self) -> httpx.AsyncClient:
        return client(self.shop.url)

    def record(self, phase: str, tally: Tally, **extra: Any) -> None:
        self.figures.setdefault("phases", {})[phase] = {**tally.summary(), **extra}

    def assert_caps_held(self) -> None:
        """A capped chat (max 1 a day) at most once per visitor and day, over every phase so far."""
        broken = {visitor for (visitor, _), count in self.chats.items() if count > 1}
        shown = [(round(s.at - self.started, 2), *s[1:]) for s in self.shown if s.visitor in broken]
        assert not broken, f"caps broken for {sorted(broken)[:10]}; (s, visitor, worker, path, counted): {shown[:30]}"

    def shown_to(self, visitors: list[Visitor], *, counted: bool = False) -> list[int]:
        """How many invitations each of ``visitors`` got (``counted``: only those counted against the cap)."""
        found = Counter(s.visitor for s in self.shown if s.counted or not counted)
        return [found[visitor.key] for visitor in visitors]

    def assert_log_clean(self) -> None:
        """Every fault was logged as a line, none as a traceback (a failure inside smalldata that escaped)."""
        log = self.shop.log()
        assert "Traceback" not in log and "exception was never retrieved" not in log, log[-3000:]

    def assert_workers_alive(self) -> None:
        """No worker died (uvicorn would have replaced it by a new pid)."""
        assert self.shop.workers() == self.shop.pids, self.shop.log()[-3000:]

    def events(self) -> list[dict[str, Any]]:
        path = self.shop.events_file
        lines = path.read_text().splitlines() if path.exists() else []
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    require_redis_server()
    with crm_server() as crm:
        shop = Shop(tmp_path_factory.mktemp("faults"), crm)
        try:
            shop.start()
            suite = _warm_up(shop)
            yield suite
        finally:
            shop.stop()
        suite.figures["duration_s"] = round(time.monotonic() - suite.started, 1)
        suite.figures["store_outages_seen"] = shop.store.outages  # workers that lost Redis (kill, or a slow reply)
        _report(suite, shop.folder / "figures.json")


def _warm_up(shop: Shop) -> Suite:
    """Meet every visitor once (cookies for those who consent), warm the workers, take their memory."""
    crowd = Crowd(
        shoppers=[Visitor(f"shopper-{i}") for i in range(40)],
        customers=[Visitor(f"customer-{i}", user=f"u{i}") for i in range(12)],
        private=[Visitor(f"private-{i}", user=f"p{i}" if i % 3 == 0 else None) for i in range(10)],
    )
    tally = Tally(store_away=shop.store.away)  # its invitations count against the caps of later phases too
    tracked, never_met = crowd.private[::2], crowd.private[1::2]
    for visitor in never_met:
        visitor.gpc = True  # these never send a visitor cookie at all

    async def meet() -> None:
        async with client(shop.url) as http:
            await run(http, [Call(v, "/pages/0") for v in crowd.shoppers + crowd.customers + tracked], tally)
            for visitor in tracked:
                visitor.gpc = True  # from now on they refuse storage, with the cookie they got
            await run(http, mixed(crowd.everyone, WARM_UP), tally)

    asyncio.run(meet())
    tally.assert_clean()
    time.sleep(0.5)  # the event sinks flush
    codec = CookieCodec([SECRET.encode()])
    ids = {}
    for visitor in tracked:
        data = codec.loads(visitor.jar.get("sd_visitor"))
        assert data is not None, visitor.jar
        ids[visitor.key] = data["i"]
    store = shop.redis()
    records = {key: store.get(f"sd:v:{{{visitor_id}}}") for key, visitor_id in ids.items()}
    store.close()
    suite = Suite(shop, crowd, ids, records, 0, shop.rss_mb(), chats=tally.chats, shown=tally.shown)
    suite.events_at_private = len(suite.events())
    suite.record("warm-up", tally)
    return suite


def _report(suite: Suite, path: Path) -> None:
    figures = suite.figures
    figures["caps_max_per_visitor"] = max(suite.chats.values(), default=0)
    figures["visitors_with_a_chat"] = len({visitor for visitor, _ in suite.chats})
    phases = figures.get("phases", {}).values()
    figures["requests"] = sum(phase["requests"] for phase in phases)
    figures["5xx"] = sum(phase["5xx"] for phase in phases)
    figures["failed"] = sum(phase["failed"] for phase in phases)
    path.write_text(json.dumps(figures, indent=2))
    if os.environ.get("FAULTS_REPORT"):
        Path(os.environ["FAULTS_REPORT"]).write_text(json.dumps(figures, indent=2))
    figures["report"] = str(path)
    _reports.append(figures)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for figures in _reports:
        rss = figures.get("rss_mb", {})
        terminalreporter.write_line(
            f"fault suite: {figures['requests']} requests, {figures['5xx']} 5xx, {figures['failed']} broken, "
            f"chat shown at most {figures['caps_max_per_visitor']}x per visitor and day, "
            f"worker RSS growth {rss.get('growth', '?')} MB, {figures.get('duration_s')} s ({figures['report']})"
        )
