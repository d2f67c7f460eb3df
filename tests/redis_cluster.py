"""A real Redis Cluster (three masters, a replica each) and a real Sentinel setup for tests.

Both run on free loopback ports with nothing written outside a temporary folder, and are
torn down afterwards. Like :mod:`tests.redis_server`, they skip locally without
``redis-server`` and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import redis

try:
    from tests.redis_server import free_port, require_redis_server, start_redis, stop
except ImportError:  # tests/ on sys.path
    from redis_server import free_port, require_redis_server, start_redis, stop  # type: ignore[no-redef]

__all__ = ["ClusterSetup", "SentinelSetup", "redis_cluster", "redis_sentinel"]

_SETTLE_TIMEOUT = 30.0


def _command(port: int, *words: str) -> object:
    """One command to the server (or Sentinel) on ``port``, and its answer."""
    client = redis.Redis(port=port, socket_timeout=2, decode_responses=True)
    try:
        return client.execute_command(*words)
    finally:
        client.close()


def _wait(predicate: object, what: str, timeout: float = _SETTLE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except (OSError, redis.RedisError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


@dataclass
class ClusterSetup:
    """Six nodes on loopback: ``url`` names two of them (the client learns the rest)."""

    url: str
    nodes: dict[int, subprocess.Popen[bytes]]

    def master_of(self, key: str) -> int:
        """The port of the master that serves ``key``'s slot now (as a live node sees it)."""
        port = next(p for p, process in self.nodes.items() if process.poll() is None)
        slot = int(_command(port, "CLUSTER", "KEYSLOT", key))  # type: ignore[call-overload]
        for start, end, master, *_ in _command(port, "CLUSTER", "SLOTS"):  # type: ignore[attr-defined]
            if start <= slot <= end:
                return int(master[1])
        raise LookupError(slot)


@contextmanager
def redis_cluster() -> Iterator[ClusterSetup]:
    """Start six ``redis-server --cluster-enabled yes`` (three masters with a replica each),
    join them with ``redis-cli --cluster create``, and yield them once every replica is in sync
    (a replica takes over within about 2 s of its master dying: 1 s node timeout) (a ``redis+cluster://`` URL
    and each node's process)."""
    require_redis_server()
    cli = shutil.which("redis-cli")
    if cli is None:
        raise RuntimeError("redis-cli is needed to create the cluster (it comes with redis-server)")
    with tempfile.TemporaryDirectory(prefix="smalldata-cluster-") as workdir, ExitStack() as stack:
        ports = []
        nodes = {}
        for index in range(6):
            node_dir = f"{workdir}/{index}"
            os.mkdir(node_dir)
            process, port = start_redis(node_dir, _cluster_port(), options=[
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "1000",
            ])  # fmt: skip
            stack.callback(stop, process)
            ports.append(port)
            nodes[port] = process
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in ports),
             "--cluster-replicas", "1", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        _wait(lambda: all("cluster_state:ok" in str(_command(p, "CLUSTER", "INFO")) for p in ports), "cluster_state:ok")
        _wait(lambda: sum(_linked(port) for port in ports) == 3, "every replica in sync with its master")
        yield ClusterSetup("redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in ports[:3]), nodes)


def _cluster_port() -> int:
    """A free port whose cluster bus port (10,000 higher, so at most 55535) is free too."""
    while True:
        port = free_port()
        if port <= 55535:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port


@dataclass
class SentinelSetup:
    """A master, its replica and one Sentinel (quorum 1) watching them as ``mymaster``."""

    url: str
    master: subprocess.Popen[bytes]
    master_port: int
    replica_port: int
    sentinel_port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def current_master_port(self) -> int:
        host_port = _command(self.sentinel_port, "SENTINEL", "get-master-addr-by-name", "mymaster")
        return int(host_port[1])  # type: ignore[index]


@contextmanager
def redis_sentinel() -> Iterator[SentinelSetup]:
    """A master, a replica and a Sentinel that fails over within about a second of the master dying."""
    executable = require_redis_server()
    with tempfile.TemporaryDirectory(prefix="smalldata-sentinel-") as workdir, ExitStack() as stack:
        master, master_port = start_redis(workdir)
        stack.callback(stop, master)
        replica, replica_port = start_redis(workdir, options=["--replicaof", "127.0.0.1", str(master_port)])
        stack.callback(stop, replica)
        _wait(lambda: _linked(replica_port), "the replica")
        sentinel_port = free_port()
        config = f"{workdir}/sentinel.conf"
        with open(config, "w", encoding="utf-8") as out:
            out.write(
                f"port {sentinel_port}\nbind 127.0.0.1\ndir {workdir}\n"
                f"sentinel monitor mymaster 127.0.0.1 {master_port} 1\n"
                "sentinel down-after-milliseconds mymaster 500\n"
                "sentinel failover-timeout mymaster 5000\n"
            )
        sentinel = subprocess.Popen([executable, config, "--sentinel"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        stack.callback(stop, sentinel)
        _wait(lambda: _replicas_known(sentinel_port), "the sentinel to see the replica")
        yield SentinelSetup(
            f"redis+sentinel://127.0.0.1:{sentinel_port}/mymaster/0",
            master, master_port, replica_port, sentinel_port, [master, replica, sentinel],
        )


def _linked(port: int) -> bool:
    """Whether the node on ``port`` is a replica whose link to its master is up."""
    return "'master_link_status': 'up'" in str(_command(port, "INFO", "replication"))


def _replicas_known(sentinel_port: int) -> bool:
    return bool(_command(sentinel_port, "SENTINEL", "replicas", "mymaster"))
