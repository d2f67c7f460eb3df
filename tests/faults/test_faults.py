"""The fault suite: a shop under uvicorn (2 workers) served through real faults, in order.

Each test is one phase against the same running shop (``suite``): load goes on while
one part breaks, and every answer is checked as it arrives (see :mod:`tests.faults.load`).
Every phase asserts no 5xx, no lost or altered app response, the chat cap held over
every phase so far (with Redis: once per visitor and day, across bursts and workers),
and no worker died. See README.md in this folder.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable

import httpx
import redis

from smalldata.state.codec import CookieCodec

from .conftest import Suite
from .crm import GARBAGE
from .harness import BROKEN_RULES, ORDERS_TOKEN, SECRET, rules
from .load import Call, Tally, Visitor, burst, mixed, run, send, under_load

STORE_RETRY = 5.0  # RedisStore tries a server it lost again after this many seconds
GEOIP_CHECK = 5.0  # GeoDatabase looks at its file this often
RSS_BOUND_MB = 30.0
SEEN_WITHIN = 60.0  # a bound on waiting for what a phase expects: generous, for a busy CI runner


def batches(visitors: list[Visitor], size: int = 48) -> Callable[[int], list[Call]]:
    """Mixed load in batches of ``size`` requests (the n-th batch goes on where the one before stopped)."""
    return lambda n: mixed(visitors, size, n * size)


async def until(done: Callable[[], bool], seconds: float) -> None:
    """Wait (while load runs beside) until ``done()``; fails after ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not done():
        assert asyncio.get_running_loop().time() < deadline, f"not seen within {seconds} s"
        await asyncio.sleep(0.1)


async def meet(suite: Suite, prefix: str, count: int, tally: Tally, *, customers: int = 0) -> list[Visitor]:
    """New visitors, each with a visitor cookie from a first page; the first ``customers`` logged in."""
    visitors = [Visitor(f"{prefix}-{i}", user=f"{prefix}-{i}" if i < customers else None) for i in range(count)]
    async with suite.client() as client:
        await run(client, [Call(visitor, "/pages/0") for visitor in visitors], tally)
    assert all("sd_visitor" in visitor.jar for visitor in visitors)
    return visitors


async def bursts(suite: Suite, visitors: list[Visitor], tally: Tally, at_once: int = 4) -> list[Visitor]:
    """Eight parallel pricing pages per visitor, ``at_once`` visitors at a time; returns the visitors
    whose burst met Redis up on both workers all along (see :class:`~tests.faults.harness.StoreWatch`)."""
    store, clean = suite.shop.store, []
    async with suite.client() as client:
        for start in range(0, len(visitors), at_once):
            group = visitors[start : start + at_once]
            outages, up = store.outages, not store.away()
            await asyncio.gather(*(burst(client, visitor, tally) for visitor in group))
            if up and store.outages == outages and not store.away():
                clean += group
    return clean


async def pricing_pages(suite: Suite, visitors: list[Visitor], tally: Tally, pages: int = 2) -> None:
    """``pages`` pricing pages per visitor, one after another (the next with the cookie of the last)."""
    async with suite.client() as client:
        await run(client, [Call(visitor, "/pricing") for _ in range(pages) for visitor in visitors], tally)


def finish(suite: Suite, phase: str, tally: Tally, **extra: object) -> None:
    suite.record(phase, tally, **extra)
    tally.assert_clean()
    assert tally.chats_without_cap == 0  # every invitation carries its cap for the browser
    suite.assert_caps_held()
    suite.assert_log_clean()
    suite.assert_workers_alive()


async def test_steady_load_reaches_both_workers_and_leaves_every_app_response_intact(suite: Suite) -> None:
    tally = suite.tally()
    async with suite.client() as client:
        await run(client, mixed(suite.crowd.everyone, 900), tally)

    finish(suite, "steady", tally)
    assert len(tally.workers) == 2
    assert tally.greetings["Hej Metteu1"] > 0  # the CRM's profile reached the page
    assert tally.banners["hero:From GB"] > 0  # the GeoIP database did
    assert tally.injected > 300


async def test_bursts_of_one_visitor_over_two_workers_show_a_capped_chat_once(suite: Suite) -> None:
    tally = suite.tally()
    visitors: list[Visitor] = []
    clean: list[Visitor] = []
    while len(clean) < 20 and len(visitors) < 120:  # bursts that met a worker without Redis do not count
        met = await meet(suite, f"burst{len(visitors)}", 40, tally)
        visitors += met
        clean += await bursts(suite, met, tally)

    finish(suite, "bursts", tally, visitors=len(visitors), burst_size=8, assessed=len(clean))
    assert min(suite.shown_to(visitors)) >= 1
    assert len(clean) >= 20, f"a worker kept losing Redis: only {len(clean)} bursts met it up"
    assert suite.shown_to(clean, counted=True) == [1] * len(clean)
    assert len(tally.workers) == 2


async def test_redis_killed_and_restarted_under_load(suite: Suite) -> None:
    tally = suite.tally()
    before = await meet(suite, "before-outage", 10, tally)
    await bursts(suite, before, tally)
    shop = suite.shop

    waiting = await meet(suite, "outage", 8, tally, customers=4)  # known (and logged in) before Redis goes
    one_by_one, at_once = waiting[::2], waiting[1::2]  # each with two customers

    async def faults() -> None:
        await asyncio.sleep(1.0)
        await asyncio.to_thread(shop.kill_redis)
        await asyncio.sleep(1.0)
        await pricing_pages(suite, one_by_one, tally)  # one after another: the cookie carries the cap
        await bursts(suite, at_once, tally)  # at once: each page may show it, and the browser holds it
        await asyncio.to_thread(shop.restart_redis)
        await asyncio.sleep(STORE_RETRY + 1.5)  # every worker has tried the store again

    async with suite.client() as client:
        await under_load(client, batches(suite.crowd.everyone), tally, faults)
    after = await meet(suite, "after-outage", 10, tally)
    await bursts(suite, before + after, tally)  # `before` had theirs: their caps came back with Redis
    await pricing_pages(suite, waiting, tally)  # and so did the caps used while it was away

    finish(suite, "redis", tally, chats_in_outage=tally.chats_in_outage)
    assert suite.shown_to(one_by_one, counted=True) == [1] * len(one_by_one)
    # a cap Redis cannot count is not shown: the parallel pages while it was away showed none, the first
    # pages after its return one, however the outage fell
    assert suite.shown_to(waiting) == [1] * len(waiting)
    assert min(suite.shown_to(after)) >= 1
    client = shop.redis()
    assert all(client.exists(f"sd:v:{{{_visitor_id(v)}}}") for v in after)
    client.close()


async def test_a_slow_or_broken_crm_never_breaks_or_stalls_a_page(suite: Suite) -> None:
    crm, figures = suite.shop.crm, {}
    customers = suite.crowd.customers + suite.crowd.shoppers[:12]
    whole = suite.tally()
    async with suite.client() as client:
        for mode in ("slow", "error", "reset", "garbage"):
            crm.mode = mode
            tally = suite.tally()
            await under_load(client, batches(customers), tally, lambda: asyncio.sleep(2.0))
            figures[mode] = {"p50_ms": tally.summary()["p50_ms"], "calls": crm.calls[mode]}
            _merge(whole, tally)
            assert crm.calls[mode] >= len(GARBAGE)  # the fault reached smalldata (every kind of garbage)
            assert tally.percentile(0.5) < 0.4  # no page waits for the CRM's call (500 ms), only 50 ms at most
        crm.mode = "ok"
        tally = suite.tally()
        greeted = lambda: any(g.startswith("Hej Mette") for g in tally.greetings)  # noqa: E731
        await under_load(client, batches(customers), tally, lambda: until(greeted, SEEN_WITHIN))
        _merge(whole, tally)

    finish(suite, "crm", whole, modes=figures)


async def test_a_geoip_file_changed_in_place_or_replaced_never_crashes_a_worker(suite: Suite) -> None:
    shop = suite.shop
    everyone = suite.crowd.everyone
    whole = suite.tally()
    async with suite.client() as client:
        moved = suite.tally()  # `cp` of another database over the served file: picked up by both workers
        await asyncio.to_thread(shop.copy_geoip, shop.geoip_dk)
        await under_load(client, batches(everyone), moved,
                         lambda: until(lambda: moved.seen_on_every_worker("hero:From DK"), SEEN_WITHIN))

        broken = suite.tally()  # truncated to nothing, then half a database: the last good one stays

        async def truncate() -> None:
            await asyncio.to_thread(shop.truncate_geoip)
            await asyncio.sleep(GEOIP_CHECK + 1)
            await asyncio.to_thread(shop.copy_geoip, shop.geoip_gb, shop.geoip_gb.stat().st_size // 2)
            await asyncio.sleep(GEOIP_CHECK + 1)

        await under_load(client, batches(everyone), broken, truncate)

        renamed = suite.tally()  # a new file moved over it, as geoipupdate does
        await asyncio.to_thread(shop.rename_geoip, shop.geoip_gb)
        await under_load(client, batches(everyone), renamed,
                         lambda: until(lambda: renamed.seen_on_every_worker("hero:From GB"), SEEN_WITHIN))
        for tally in (moved, broken, renamed):
            _merge(whole, tally)

    finish(suite, "geoip", whole)
    assert broken.banners["hero:From DK"] > 0 and broken.banners["hero:From GB"] == 0
    assert shop.log().count("cannot open GeoIP database") >= 2  # the broken files were read, and refused


async def test_a_rule_file_replaced_broken_and_deleted_under_load(suite: Suite) -> None:
    shop = suite.shop
    everyone = suite.crowd.everyone
    whole = suite.tally()
    async with suite.client() as client:
        edited = suite.tally()
        await asyncio.to_thread(shop.write_rules, rules("v2"))
        await under_load(client, batches(everyone), edited,
                         lambda: until(lambda: edited.seen_on_every_worker("version:rules v2"), SEEN_WITHIN))

        # each worker's watcher refuses the broken file, then the missing one, and logs it: wait for both
        broken = suite.tally()
        refused = shop.log().count("not reloaded")
        await asyncio.to_thread(shop.write_rules, BROKEN_RULES)
        await under_load(client, batches(everyone), broken,
                         lambda: until(lambda: shop.log().count("not reloaded") >= refused + 2, SEEN_WITHIN))
        broken_health = [await asyncio.to_thread(shop.health) for _ in range(4)]

        deleted = suite.tally()
        missing = shop.log().count("has no rule files")
        await asyncio.to_thread(shop.delete_rules)
        await under_load(client, batches(everyone), deleted,
                         lambda: until(lambda: shop.log().count("has no rule files") >= missing + 2, SEEN_WITHIN))
        deleted_health = [await asyncio.to_thread(shop.health) for _ in range(4)]

        restored = suite.tally()
        await asyncio.to_thread(shop.replace_rules, rules("v1"))
        await under_load(client, batches(everyone), restored,
                         lambda: until(lambda: restored.seen_on_every_worker("version:rules v1"), SEEN_WITHIN))
        restored_health = [await asyncio.to_thread(shop.health) for _ in range(4)]
        for tally in (edited, broken, deleted, restored):
            _merge(whole, tally)

    finish(suite, "rules", whole)
    for tally in (broken, deleted):  # the last good rules kept serving
        assert tally.banners["version:rules v2"] > 0
        assert {name for name in tally.banners if name.startswith("version:")} == {"version:rules v2"}
    assert {health["status"] for health in broken_health + deleted_health} == {"degraded"}
    assert any("no rule files" in error for health in deleted_health for error in health["errors"])
    assert {health["status"] for health in restored_health} == {"ok"}


async def test_nothing_is_written_for_visitors_who_refuse_storage(suite: Suite) -> None:
    shop = suite.shop
    private = suite.crowd.private
    await asyncio.sleep(0.5)  # the event sinks flush what earlier phases left
    store = shop.redis()
    keys_before = _snapshot(store)
    lines_before = len(suite.events())
    tally = suite.tally()

    async with suite.client() as client:
        await run(client, mixed(private, 300), tally)
        conversion = b'{"type": "conversion", "value": 499, "currency": "DKK"}'
        await run(client, [Call(visitor, "/_smalldata/events", "POST", conversion) for visitor in private], tally)
    await bursts(suite, private, tally)
    await asyncio.sleep(0.6)  # the event sinks flush

    finish(suite, "no-consent", tally)
    assert _snapshot(store) == keys_before  # no key written, none changed
    new_lines = suite.events()[lines_before:]
    assert new_lines and all(line["visitor"] is None for line in new_lines)
    # over the whole run: the records of those who had a cookie are as they were when they refused,
    # and no event since then names them
    for key, visitor_id in suite.private_ids.items():
        assert store.get(f"sd:v:{{{visitor_id}}}") == suite.private_records[key]
    named = {line["visitor"] for line in suite.events()[suite.events_at_private :]}
    assert not named & set(suite.private_ids.values())
    store.close()


async def test_worker_memory_stays_bounded_under_load(suite: Suite) -> None:
    tally = suite.tally()
    async with suite.client() as client:
        await run(client, mixed(suite.crowd.everyone, 2000), tally)

    finish(suite, "memory", tally)
    after = suite.shop.rss_mb()
    growth = {pid: after[pid] - suite.rss_before[pid] for pid in after}
    suite.figures["rss_mb"] = {
        "before": {str(pid): round(mb, 1) for pid, mb in suite.rss_before.items()},
        "after": {str(pid): round(mb, 1) for pid, mb in after.items()},
        "growth": round(max(growth.values()), 1),
    }
    assert set(after) == set(suite.rss_before)
    assert max(growth.values()) < RSS_BOUND_MB, suite.figures["rss_mb"]


async def test_a_one_a_day_banner_is_shown_once_to_visitors_sending_200_pages_at_once(suite: Suite) -> None:
    tally = suite.tally()
    visitors = await meet(suite, "sale", 3, tally)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)  # 200 in flight, over both workers
    async with httpx.AsyncClient(base_url=suite.shop.url, timeout=60, limits=limits) as client:
        calls = [Call(visitor, f"/pages/sale-{n}", parallel=True) for n in range(200) for visitor in visitors]
        responses = await asyncio.gather(*(send(client, call, tally) for call in calls))

    finish(suite, "banner-cap", tally)
    shown = Counter(call.visitor.key for call, response in zip(calls, responses, strict=True)
                    if response is not None and b"Sale today" in response.content)
    assert all(shown[visitor.key] <= 1 for visitor in visitors) and sum(shown.values()) >= 1, shown
    assert tally.banners["hero:From GB"] > 0  # the rest of each page was still personalised


async def test_an_order_is_recorded_once_over_both_workers_and_no_browser_post_of_its_id_displaces_it(
    suite: Suite,
) -> None:
    tally = suite.tally()
    shoppers = await meet(suite, "order", 10, tally)
    await asyncio.sleep(0.5)  # the event sinks flush
    lines_before = len(suite.events())
    squat = json.dumps({"type": "conversion", "value": 0.01, "currency": "DKK", "order_id": "F-1001"}).encode()
    order = {"order_id": "F-1001", "value": 849, "currency": "DKK", "cookie": shoppers[0].jar["sd_visitor"]}
    auth = {"authorization": f"Bearer {ORDERS_TOKEN}"}
    async with suite.client() as client:
        await run(client, [Call(visitor, "/_smalldata/events", "POST", squat) for visitor in shoppers], tally)
    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection per call: both workers get some
    async with httpx.AsyncClient(base_url=suite.shop.url, timeout=15, limits=limits) as service:
        answers = await asyncio.gather(*(service.post("/_smalldata/conversions", json=order, headers=auth)
                                         for _ in range(10)))  # fmt: skip
    await asyncio.sleep(0.6)  # the event sinks flush

    finish(suite, "orders", tally)
    assert [answer.status_code for answer in answers] == [200] * 10
    assert sorted(answer.json()["recorded"] for answer in answers) == [False] * 9 + [True]
    lines = [line for line in suite.events()[lines_before:] if line.get("order_id") == "F-1001"]
    server = [line for line in lines if line["source"] == "server"]
    assert [(line["value"], line["visitor"]) for line in server] == [(849, _visitor_id(shoppers[0]))]
    assert len(lines) == 11  # and each browser's post of the id once, provisionally: reports count the server's


async def test_clients_that_never_return_the_cookie_leave_no_key_in_redis(suite: Suite) -> None:
    store = suite.shop.redis()
    keys_before = _snapshot(store)
    crawler = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    async with suite.client() as client:  # keeps no cookies: every request is a first one
        answers = await asyncio.gather(*(client.get(path, headers={"user-agent": agent})
                                         for path in ("/pricing", "/pages/1", "/pages/sale-x", "/")
                                         for agent in (crawler, browser) * 50))  # fmt: skip

    assert {answer.status_code for answer in answers} == {200}
    assert sum("sd_visitor=" in answer.headers.get("set-cookie", "") for answer in answers) >= 200  # the browsers'
    assert _snapshot(store) == keys_before  # 400 first requests, capped pages among them: no key written
    store.close()


def _merge(into: Tally, tally: Tally) -> None:
    into.requests += tally.requests
    into.failed += tally.failed
    into.failures += tally.failures
    into.statuses.update(tally.statuses)
    into.workers.update(tally.workers)
    into.greetings.update(tally.greetings)
    into.banners.update(tally.banners)
    into.injected += tally.injected
    into.latencies += tally.latencies
    into.chats_without_cap += tally.chats_without_cap


def _snapshot(store: redis.Redis) -> dict[bytes, bytes | None]:
    return {key: store.get(key) for key in sorted(store.scan_iter(count=1000))}


def _visitor_id(visitor: Visitor) -> str:
    data = CookieCodec([SECRET.encode()]).loads(visitor.jar["sd_visitor"])
    assert data is not None
    return str(data["i"])
