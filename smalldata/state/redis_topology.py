"""How a server store reaches Redis: one server, a Redis Cluster, or a master that Sentinel watches.

``state.store`` takes one of these URLs (``rediss`` instead of ``redis`` for TLS):

- ``redis://[[user]:password@]host:port/db`` (or ``unix:///path?db=0``): one server, as
  redis-py's ``Redis.from_url`` reads it;
- ``redis+cluster://[[user]:password@]host:port,host:port``: a Redis Cluster. The nodes listed
  are where the client starts; it learns the others and follows slots as they move
  (``redis.asyncio.cluster.RedisCluster``);
- ``redis+sentinel://[[user]:password@]host:port,host:port/service/db``: the master that the
  Sentinels listed know as ``service`` (``redis.asyncio.sentinel.Sentinel.master_for``);
  after a failover the next connection goes to the promoted replica. The user and password
  are the data nodes'; the Sentinels are asked without them.

Keys are hash-tagged by their owner (``sd:v:{<visitor id>}``, ``sd:cap:{<owner>}:…``), so one
command never spans two cluster slots: each multi-key read or cap claim names one owner's keys.
A read that names a visitor and a logged-in user (two owners) goes to the cluster as one
``MGET`` per slot, sent together (:func:`cluster_get_many`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

__all__ = ["RedisTopology", "cluster_get_many", "connect", "parse_store_url"]

CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
SENTINEL_SCHEMES = ("redis+sentinel://", "rediss+sentinel://")
SINGLE_SCHEMES = ("redis://", "rediss://", "unix://")
_SENTINEL_PORT = 26379
_REDIS_PORT = 6379


@dataclass(frozen=True)
class RedisTopology:
    """What a ``state.store`` URL names: ``single`` (the URL as is), ``cluster`` or ``sentinel``."""

    kind: Literal["single", "cluster", "sentinel"]
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_store_url(url: str) -> RedisTopology:
    """The topology ``url`` names; ``ValueError`` (in words) when it is not one of the forms above."""
    if url.startswith(SINGLE_SCHEMES):
        return RedisTopology("single", url)
    if url.startswith(CLUSTER_SCHEMES):
        kind: Literal["cluster", "sentinel"] = "cluster"
        default_port = _REDIS_PORT
    elif url.startswith(SENTINEL_SCHEMES):
        kind, default_port = "sentinel", _SENTINEL_PORT
    else:
        raise ValueError(f"unknown store {url!r} (use redis://, redis+cluster:// or redis+sentinel://)")
    scheme, rest = url.split("://", 1)
    rest = rest.split("?", 1)[0]
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    username, password = _credentials(userinfo)
    nodes = tuple(_node(host, default_port, url) for host in hosts.split(",") if host)
    if not nodes:
        raise ValueError(f"store {url!r} names no host (host:port,host:port)")
    parts = [part for part in path.split("/") if part]
    service, db = "", 0
    if kind == "sentinel":
        if not parts:
            raise ValueError(f"store {url!r} names no service (redis+sentinel://host:port/mymaster/0)")
        service, parts = unquote(parts[0]), parts[1:]
    if parts:
        if kind == "cluster" or len(parts) > 1 or not parts[0].isdigit():
            raise ValueError(f"store {url!r}: a cluster has only database 0; a sentinel URL ends /service/db")
        db = int(parts[0])
    return RedisTopology(kind, url, nodes, service, db, username, password, scheme.startswith("rediss"))


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    return unquote(user) or None, unquote(password) if colon else None


def _node(text: str, default_port: int, url: str) -> tuple[str, int]:
    if text.startswith("["):  # [::1]:6379
        host, _, port = text[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = text.partition(":")
    if not host or (port and not port.isdigit()):
        raise ValueError(f"store {url!r}: {text!r} is not host:port")
    return host, int(port) if port else default_port


def connect(url: str, timeout: float) -> tuple[Any, bool]:
    """A redis-py asyncio client for ``url`` and whether it is a cluster client.

    Every socket wait is ``timeout`` seconds and nothing is retried: a page never waits
    on Redis longer than that; the store serves from the cookie instead.
    """
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    topology = parse_store_url(url)
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }
    if topology.kind == "single":
        return Redis.from_url(url, **options), False
    credentials: dict[str, Any] = {"username": topology.username, "password": topology.password}
    if topology.kind == "cluster":
        from redis.asyncio.cluster import ClusterNode, RedisCluster

        nodes = [ClusterNode(host, port) for host, port in topology.nodes]
        # A node that fails makes the client learn the slots again on the next command; the
        # page does not wait for the cluster to settle (no retries): the cookie serves meanwhile.
        return RedisCluster(startup_nodes=nodes, ssl=topology.tls, **credentials, **options), True
    from redis.asyncio.sentinel import Sentinel

    tls: dict[str, Any] = {"ssl": True} if topology.tls else {}
    sentinel_options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout, **tls}
    sentinel = Sentinel(list(topology.nodes), sentinel_kwargs=sentinel_options)
    return sentinel.master_for(topology.service, db=topology.db, **tls, **credentials, **options), False


async def cluster_get_many(client: Any, keys: Sequence[str]) -> list[bytes | None]:
    """``MGET`` on a cluster: one command per hash slot, sent at once (never one spanning slots)."""
    from redis.crc import key_slot

    by_slot: dict[int, list[int]] = {}
    for index, key in enumerate(keys):
        by_slot.setdefault(key_slot(key.encode()), []).append(index)
    groups = list(by_slot.values())
    if len(groups) <= 1:
        found: list[bytes | None] = await client.mget(list(keys))
        return found
    answers = await asyncio.gather(*(client.mget([keys[i] for i in group]) for group in groups))
    records: list[bytes | None] = [None] * len(keys)
    for group, values in zip(groups, answers, strict=True):
        for index, value in zip(group, values, strict=True):
            records[index] = value
    return records
