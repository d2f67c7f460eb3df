"""The Redis store on a real Redis Cluster (three masters, a replica each), started by the tests.

Every key is hash-tagged by its owner, so no command spans two slots: a page of a
logged-in visitor reads the visitor's and the user's records (two slots), and a cap
claim counts several rules' showings in one script (one slot).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import pytest
import redis
from redis.crc import key_slot

from smalldata.state import RedisStore, StateStore, VisitorState
from smalldata.state.caps import CapClaim

from .helpers import cookies_from, make_settings

try:
    from tests.redis_cluster import ClusterSetup, redis_cluster
except ImportError:  # tests/ on sys.path
    from redis_cluster import ClusterSetup, redis_cluster  # type: ignore[no-redef]


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterSetup]:
    with redis_cluster() as setup:
        yield setup


@pytest.fixture(scope="module")
def cluster_url(cluster: ClusterSetup) -> str:
    return cluster.url


@pytest.fixture
async def stores(cluster_url: str) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    """Two app instances sharing one cluster (a loaded CI machine is no outage: 2 s timeouts)."""
    settings = make_settings(store=cluster_url, redis_timeout_ms=2000)
    one, two = RedisStore(settings), RedisStore(settings)
    yield one, two
    await one.aclose()
    await two.aclose()


async def _request(
    store: StateStore, jar: dict[str, str], at: datetime, *, user_id: str | None = None, product: str | None = None
) -> VisitorState:
    state = await store.load(jar, now=at, user_id=user_id)
    state.touch(at)
    state.record_page(product=product)
    jar.update(cookies_from(await store.save(state, secure=True, user_id=user_id)))
    return state


def _cluster_client(url: str) -> redis.RedisCluster:
    host, port = url.removeprefix("redis+cluster://").split(",")[0].split(":")
    return redis.RedisCluster(host=host, port=int(port))


async def test_two_app_instances_share_one_visitor_on_a_cluster(
    stores: tuple[RedisStore, RedisStore], cluster_url: str, now: datetime
) -> None:
    one, two = stores
    jar: dict[str, str] = {}

    first = await _request(one, jar, now, product="p1")
    second = await _request(two, jar, now + timedelta(minutes=1), product="p2")

    assert second.id == first.id
    assert second.history.products == ["p2", "p1"]
    client = _cluster_client(cluster_url)
    try:
        assert client.exists(f"sd:v:{{{first.id}}}")
    finally:
        client.close()


async def test_a_logged_in_users_history_follows_them_to_another_device_on_a_cluster(
    stores: tuple[RedisStore, RedisStore], now: datetime
) -> None:
    one, two = stores
    phone: dict[str, str] = {}
    laptop: dict[str, str] = {}
    await _request(one, phone, now, user_id="anna@example.com", product="p1")
    await _request(two, laptop, now + timedelta(minutes=1), user_id="anna@example.com")

    again = await _request(two, laptop, now + timedelta(minutes=2), user_id="anna@example.com")

    visitor_slot = key_slot(f"sd:v:{{{again.id}}}".encode())
    assert visitor_slot != key_slot(f"sd:u:{{{again.user}}}".encode())  # one page, two slots
    assert again.history.products == ["p1"]


async def test_parallel_cap_claims_on_a_cluster_hold_every_rules_cap(
    stores: tuple[RedisStore, RedisStore], now: datetime
) -> None:
    one, two = stores
    jar: dict[str, str] = {}
    await _request(one, jar, now)  # a first page keeps its state in the cookie; the cookie comes back:
    state = await _request(one, jar, now + timedelta(minutes=1))  # a returning visitor, counted on the cluster
    claims = [CapClaim("help", 1, "day", 20_000, 0), CapClaim("twice", 2, "day", 20_000, 0)]

    granted = await asyncio.gather(*(store.claim(state, claims) for store in (one, two) * 3))

    assert [sum(row[0] for row in granted), sum(row[1] for row in granted)] == [1, 2]



async def test_pages_are_served_while_a_cluster_master_dies_and_its_replica_takes_over(
    cluster: ClusterSetup, now: datetime
) -> None:
    # Last in this module: it kills a node of the module's cluster.
    store = RedisStore(make_settings(store=cluster.url, redis_timeout_ms=500))
    jar: dict[str, str] = {}
    await _request(store, jar, now)  # a first page keeps its state in the cookie
    first = await _request(store, jar, now + timedelta(seconds=30), product="boots")  # the record is on the cluster
    key = f"sd:v:{{{first.id}}}"
    master = cluster.master_of(key)
    await asyncio.sleep(0.2)  # the replica has the record
    cluster.nodes[master].kill()
    cluster.nodes[master].wait()
    seen: list[VisitorState] = []
    for minute in range(1, 200):  # ~20 s at most: a promotion takes ~2 s, the store tries again after 5 s
        seen.append(await _request(store, jar, now + timedelta(minutes=minute)))
        if seen[-1].history.products == ["boots"]:
            break
        await asyncio.sleep(0.1)
    await store.aclose()

    assert {state.id for state in seen} == {first.id}  # never a new visitor
    assert [state.visits for state in seen] == [1] * len(seen)  # the visit went on through the outage
    assert seen[-1].history.products == ["boots"]  # from the promoted replica
    assert cluster.master_of(key) != master
