"""``state.store`` names one Redis server, a Redis Cluster or a Sentinel-watched master."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from smalldata.state.redis_topology import RedisTopology, parse_store_url

from .helpers import make_settings


def test_a_cluster_url_lists_its_startup_nodes_and_credentials() -> None:
    assert parse_store_url("rediss+cluster://:s3cret@10.0.0.1:7000,[::1]:7001") == RedisTopology(
        "cluster", "rediss+cluster://:s3cret@10.0.0.1:7000,[::1]:7001",
        nodes=(("10.0.0.1", 7000), ("::1", 7001)), password="s3cret", tls=True,
    )  # fmt: skip


def test_a_sentinel_url_names_its_sentinels_service_and_database() -> None:
    topology = parse_store_url("redis+sentinel://app:pw@s1,s2:26380/mymaster/2")

    assert (topology.kind, topology.nodes, topology.service, topology.db) == (
        "sentinel", (("s1", 26379), ("s2", 26380)), "mymaster", 2,
    )  # fmt: skip
    assert (topology.username, topology.password) == ("app", "pw")


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("redis+sentinel://s1:26379", "names no service"),
        ("redis+cluster://", "names no host"),
        ("redis+cluster://a:7000/3", "a cluster has only database 0"),
        ("redis+cluster://a:port", "is not host:port"),
        ("mongodb://x", "unknown store 'mongodb://x'"),
    ],
)
def test_a_bad_store_url_is_refused_in_words(store: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_settings(store=store)
