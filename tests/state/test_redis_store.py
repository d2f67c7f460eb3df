"""Redis store against a real redis-server: shared by app instances, following users, failing soft."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import pytest
import redis

from smalldata.state import RedisStore, StateStore, VisitorState
from smalldata.state.codec import CookieCodec

from .conftest import closed_port, redis_server
from .helpers import carries_only_counters, cookies_from, make_settings


async def _request(
    store: StateStore,
    jar: dict[str, str],
    at: datetime,
    *,
    user_id: str | None = None,
    product: str | None = None,
) -> VisitorState:
    """One page view: load, count, remember, save, and let the browser keep the cookie."""
    state = await store.load(jar, now=at, user_id=user_id)
    assert state is not None
    state.touch(at)
    state.record_page(product=product)
    jar.update(cookies_from(await store.save(state, secure=True, user_id=user_id)))
    return state


@pytest.fixture
async def stores(redis_url: str) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    """Two app instances sharing one Redis."""
    settings = make_settings(store=redis_url)
    one, two = RedisStore(settings), RedisStore(settings)
    yield one, two
    await one.aclose()
    await two.aclose()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


async def test_two_app_instances_share_one_visitor(
    stores: tuple[RedisStore, RedisStore], now: datetime
) -> None:
    one, two = stores
    jar: dict[str, str] = {}
    first = await _request(one, jar, now, product="p1")

    state = await _request(two, jar, now + timedelta(minutes=2), product="p2")

    assert state.id == first.id
    assert (state.visits, state.pageviews) == (1, 2)
    assert state.history.products == ["p2", "p1"]


async def test_state_lives_in_redis_and_the_cookie_holds_only_the_id_and_counters(
    stores: tuple[RedisStore, RedisStore], redis_client: redis.Redis, now: datetime
) -> None:
    one, _ = stores
    jar: dict[str, str] = {}
    await _request(one, jar, now, product="p1")
    state = await _request(one, jar, now + timedelta(minutes=1), product="p2")  # back with the cookie

    codec = CookieCodec(make_settings().signing_keys())
    assert carries_only_counters(codec.loads(jar["sd_visitor"]), state.id)
    assert redis_client.exists(f"sd:v:{{{state.id}}}")
    assert 89 * 86400 < redis_client.ttl(f"sd:v:{{{state.id}}}") <= 90 * 86400  # ttl_days, refreshed on write


async def test_a_client_without_the_cookie_costs_the_server_nothing_until_it_comes_back(
    stores: tuple[RedisStore, RedisStore], redis_client: redis.Redis, now: datetime
) -> None:
    one, two = stores
    jar: dict[str, str] = {}
    first = await _request(one, jar, now, product="p1")
    assert redis_client.dbsize() == 0
    assert "h" in (CookieCodec(make_settings().signing_keys()).loads(jar["sd_visitor"]) or {})  # the state itself

    state = await _request(two, jar, now + timedelta(minutes=1), product="p2")

    assert state.id == first.id and state.history.products == ["p2", "p1"]
    assert redis_client.keys("*") == [f"sd:v:{{{first.id}}}".encode()]


async def test_the_servers_record_lives_as_long_as_ttl_days_says(redis_url: str, redis_client: redis.Redis,
                                                                 now: datetime) -> None:
    store = RedisStore(make_settings(store=redis_url, ttl_days=7))
    jar: dict[str, str] = {}
    await _request(store, jar, now)
    state = await _request(store, jar, now + timedelta(minutes=1))
    await store.aclose()

    assert 6 * 86400 < redis_client.ttl(f"sd:v:{{{state.id}}}") <= 7 * 86400


async def test_a_users_history_follows_them_to_another_device(
    stores: tuple[RedisStore, RedisStore], now: datetime
) -> None:
    one, two = stores
    phone: dict[str, str] = {}
    laptop: dict[str, str] = {}
    await _request(one, phone, now, user_id="anna@example.com", product="p1")
    await _request(one, phone, now + timedelta(minutes=1), user_id="anna@example.com", product="p2")
    # Browsing anonymously on the laptop first, then logging in there.
    await _request(two, laptop, now + timedelta(hours=1), product="p3")

    state = await _request(
        two, laptop, now + timedelta(hours=1, minutes=1), user_id="anna@example.com"
    )

    assert state.history.products == ["p3", "p2", "p1"]


async def test_the_user_record_keeps_the_latest_history_across_devices(
    stores: tuple[RedisStore, RedisStore], now: datetime
) -> None:
    one, two = stores
    phone: dict[str, str] = {}
    laptop: dict[str, str] = {}
    await _request(one, phone, now - timedelta(days=1))  # both devices came back before (a server record each)
    await _request(two, laptop, now - timedelta(days=1))
    await _request(one, phone, now, user_id="u1", product="p1")
    await _request(two, laptop, now + timedelta(minutes=10), user_id="u1", product="p2")

    state = await _request(one, phone, now + timedelta(minutes=20), user_id="u1", product="p3")

    assert state.history.products == ["p3", "p2", "p1"]


async def test_caps_follow_a_user_to_another_device(
    stores: tuple[RedisStore, RedisStore], now: datetime
) -> None:
    from smalldata.decision import Decision

    one, two = stores
    phone: dict[str, str] = {}
    state = await one.load(phone, now=now, user_id="u1")
    assert state is not None
    state.touch(now)
    state.apply(Decision(cap_hits=["pricing-chat"]), now)
    phone.update(cookies_from(await one.save(state, secure=True, user_id="u1")))

    laptop = await _request(two, {}, now + timedelta(minutes=5), user_id="u1")

    caps = laptop.caps_at(now + timedelta(minutes=5))
    assert (caps.count("pricing-chat", "day"), caps.count("pricing-chat", "ever")) == (1, 1)


async def test_user_ids_are_not_stored_in_clear(
    stores: tuple[RedisStore, RedisStore], redis_client: redis.Redis, now: datetime
) -> None:
    one, _ = stores
    await _request(one, {}, now, user_id="anna@example.com", product="p1")

    dump = b"".join([*redis_client.keys("*"), *(redis_client.get(k) or b"" for k in redis_client.keys("*"))])
    assert b"anna" not in dump
    assert len(redis_client.keys("sd:u:*")) == 1


async def test_redis_down_falls_back_to_the_cookie(
    caplog: pytest.LogCaptureFixture, now: datetime
) -> None:
    store = RedisStore(make_settings(store=f"redis://127.0.0.1:{closed_port()}/0"))
    jar: dict[str, str] = {}

    with caplog.at_level(logging.WARNING, logger="smalldata.state"):
        first = await _request(store, jar, now, product="p1")
        for minute, product in enumerate(("p2", "p3", "p4"), 1):
            state = await _request(store, jar, now + timedelta(minutes=minute), product=product)
    await store.aclose()

    assert state.id == first.id
    assert state.history.products == ["p4", "p3", "p2", "p1"]
    assert caplog.text.count("visitor store unavailable") == 1


async def test_a_redis_that_never_answers_costs_one_short_timeout(now: datetime) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        store = RedisStore(make_settings(store=f"redis://127.0.0.1:{port}/0", redis_timeout_ms=50))
        jar: dict[str, str] = {}

        started = time.monotonic()
        for minute in range(5):
            state = await _request(store, jar, now + timedelta(minutes=minute), product="p1")
        elapsed = time.monotonic() - started
        await store.aclose()

    assert state.pageviews == 5
    assert elapsed < 1.0  # one timeout, then the cookie until retry_after


async def test_state_written_to_the_cookie_during_an_outage_returns_to_redis(now: datetime) -> None:
    with redis_server() as url:
        settings = make_settings(store=url)
        store = RedisStore(settings, retry_after=0)
        jar: dict[str, str] = {}
        await _request(store, jar, now - timedelta(minutes=1), product="p0")
        first = await _request(store, jar, now, product="p1")  # back with the cookie: a record in Redis

    # The server is gone: the visitor keeps their id, and the state rides in the cookie.
    during = await _request(store, jar, now + timedelta(minutes=1), product="p2")
    assert during.id == first.id
    assert "h" in (CookieCodec(settings.signing_keys()).loads(jar["sd_visitor"]) or {})  # the whole state
    await store.aclose()

    # Back again (an empty server on another port stands in for the restarted one).
    with redis_server() as url:
        store = RedisStore(make_settings(store=url), retry_after=0)
        after = await _request(store, jar, now + timedelta(minutes=2), product="p3")
        await store.aclose()

    assert after.id == first.id
    assert (after.visits, after.pageviews) == (1, 4)  # the counters rode in the cookie; p0, p1 were out of reach
    assert after.history.products == ["p3", "p2"]
    assert carries_only_counters(CookieCodec(settings.signing_keys()).loads(jar["sd_visitor"]), first.id)


def test_a_store_used_from_a_new_event_loop_per_request_keeps_working(
    redis_url: str, now: datetime
) -> None:
    # Starlette's TestClient (without `with`) runs every request in a fresh event loop.
    store = RedisStore(make_settings(store=redis_url))
    jar: dict[str, str] = {}

    first = asyncio.run(_request(store, jar, now, product="p1"))
    second = asyncio.run(_request(store, jar, now + timedelta(minutes=1), product="p2"))

    assert second.id == first.id
    assert second.history.products == ["p2", "p1"]
    assert carries_only_counters(CookieCodec(make_settings().signing_keys()).loads(jar["sd_visitor"]), first.id)


async def test_a_restarted_redis_is_used_again(
    caplog: pytest.LogCaptureFixture, now: datetime
) -> None:
    port = closed_port()
    jar: dict[str, str] = {}
    with caplog.at_level(logging.WARNING, logger="smalldata.state"):
        with redis_server(port) as url:
            store = RedisStore(make_settings(store=url), retry_after=0)
            await _request(store, jar, now - timedelta(minutes=1), product="p0")
            first = await _request(store, jar, now, product="p1")
        await _request(store, jar, now + timedelta(seconds=70))  # a few calls fail before it counts as away
        during = await _request(store, jar, now + timedelta(minutes=2), product="p2")
        with redis_server(port):
            after = await _request(store, jar, now + timedelta(minutes=3), product="p3")
            again = await _request(store, jar, now + timedelta(minutes=4))
        await store.aclose()

    assert first.id == during.id == after.id == again.id
    assert again.history.products == ["p3", "p2"]
    assert carries_only_counters(CookieCodec(make_settings().signing_keys()).loads(jar["sd_visitor"]), first.id)
    assert caplog.text.count("visitor store unavailable") == 1
    assert caplog.text.count("visitor store is back") == 1


async def test_an_outage_does_not_reset_the_visitor_and_recovery_merges_instead_of_overwriting(
    redis_url: str, now: datetime
) -> None:
    up = RedisStore(make_settings(store=redis_url))
    down = RedisStore(make_settings(store=f"redis://127.0.0.1:{closed_port()}/0"))  # the app cannot reach it
    jar: dict[str, str] = {}
    for day, product in enumerate(("p1", "p2", "p3")):
        first = await _request(up, jar, now + timedelta(days=day), product=product)

    during = await _request(down, jar, now + timedelta(days=3), product="p4")
    assert (during.id, during.visits, during.pageviews) == (first.id, 4, 1)  # the counters rode in the cookie

    lost_response = dict(jar)  # the outage-era cookie, as a browser that missed the next answer still has it
    after = await _request(up, jar, now + timedelta(days=3, minutes=5), product="p5")
    assert (after.visits, after.pageviews) == (4, 2)  # the fourth visit, its second page
    assert after.history.products == ["p5", "p4", "p3", "p2", "p1"]  # Redis's history kept, the outage's added

    again = await _request(up, lost_response, now + timedelta(days=3, minutes=6))
    assert (again.visits, again.pageviews) == (4, 3)  # merged twice: nothing counted twice
    assert again.history.products == ["p5", "p4", "p3", "p2", "p1"]
    await up.aclose()
    await down.aclose()


async def test_a_logged_in_customers_outage_era_caps_and_history_are_merged_into_their_user_record(
    redis_url: str, now: datetime
) -> None:
    up = RedisStore(make_settings(store=redis_url))
    down = RedisStore(make_settings(store=f"redis://127.0.0.1:{closed_port()}/0"))  # the app cannot reach it
    jar: dict[str, str] = {}
    await _request(up, jar, now, user_id="c-42", product="p1")
    during = now + timedelta(minutes=1)
    state = await down.load(jar, now=during, user_id="c-42")
    state.touch(during)
    state.record_page(product="p2")
    state.hit("pricing-chat", state.period(during))  # a capped invitation shown while Redis was away
    jar.update(cookies_from(await down.save(state, secure=True, user_id="c-42")))

    after = await _request(up, jar, now + timedelta(minutes=2), user_id="c-42", product="p3")

    assert after.caps.count("pricing-chat", "day", after.period(now)) == 1  # not shown again
    assert after.history.products == ["p3", "p2", "p1"]
    again = await _request(up, {}, now + timedelta(minutes=3), user_id="c-42")  # another device of theirs
    assert again.caps.count("pricing-chat", "day", again.period(now)) == 1
    await up.aclose()
    await down.aclose()


async def test_a_name_is_marked_once_for_every_app_instance_and_forgotten_after_its_time(
    stores: tuple[RedisStore, RedisStore], redis_client: redis.Redis
) -> None:
    one, two = stores

    answers = await asyncio.gather(*(store.once("order:A-1", 3600) for store in (one, two, one, two)))

    assert sorted(answers) == [False, False, False, True]
    assert 3590 < redis_client.ttl("sd:once:order:A-1") <= 3600


async def test_with_redis_away_once_says_it_does_not_know(now: datetime) -> None:
    store = RedisStore(make_settings(store=f"redis://127.0.0.1:{closed_port()}/0"))
    assert await store.once("order:A-1", 60) is None  # the caller falls back on its own memory
    await store.aclose()


async def test_a_redis_back_between_a_pages_load_and_its_save_keeps_the_visitors_history(
    redis_url: str, redis_client: redis.Redis, now: datetime
) -> None:
    store = RedisStore(make_settings(store=redis_url, redis_timeout_ms=50))
    jar: dict[str, str] = {}
    await _request(store, jar, now - timedelta(minutes=1), product="p0")
    first = await _request(store, jar, now, product="p1")  # back with the cookie: the history is in Redis
    redis_client.execute_command("CLIENT", "PAUSE", 300, "ALL")  # the page's read times out...
    during = now + timedelta(minutes=1)
    state = await store.load(jar, now=during)
    state.touch(during)
    await asyncio.sleep(0.5)  # ...and Redis answers again before the page is saved
    jar.update(cookies_from(await store.save(state, secure=True)))

    after = await _request(store, jar, now + timedelta(minutes=2), product="p2")
    await store.aclose()

    assert after.id == first.id
    assert after.history.products == ["p2", "p1", "p0"]


async def test_a_redis_back_between_a_pages_load_and_its_save_keeps_the_users_history_for_their_other_devices(
    redis_url: str, redis_client: redis.Redis, now: datetime
) -> None:
    store = RedisStore(make_settings(store=redis_url, redis_timeout_ms=50))
    phone: dict[str, str] = {}
    await _request(store, phone, now - timedelta(minutes=1), user_id="c-7", product="p0")
    await _request(store, phone, now, user_id="c-7", product="p1")
    redis_client.execute_command("CLIENT", "PAUSE", 300, "ALL")  # the page's read times out...
    during = now + timedelta(minutes=1)
    state = await store.load(phone, now=during, user_id="c-7")
    state.touch(during)
    state.record_page(product="p2")
    await asyncio.sleep(0.5)  # ...and Redis answers again before the page is saved
    await store.save(state, secure=True, user_id="c-7")

    laptop = await _request(store, {}, now + timedelta(minutes=2), user_id="c-7")
    await store.aclose()

    assert laptop.history.products == ["p2", "p1", "p0"]
