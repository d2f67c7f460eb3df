"""A real ``redis-server`` for tests, on a free loopback port, with nothing written to disk.

Without ``redis-server`` installed the test is skipped locally, but fails under
``CI=true``: CI must never pass by skipping the Redis tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

__all__ = ["closed_port", "free_port", "redis_server", "require_redis_server", "start_redis", "stop"]

_START_TIMEOUT = 10.0


def require_redis_server() -> str:
    """The path of ``redis-server``; skips the test (fails it under CI) when it is missing."""
    path = shutil.which("redis-server")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required under CI=true (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    return path


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """End a server the tests started: asked to stop, killed when it does not within ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


closed_port = free_port  # a port to point a client at when the server must be "down"


@contextmanager
def redis_server(port: int | None = None) -> Iterator[str]:
    """Start ``redis-server`` on 127.0.0.1 (on ``port``, else a free one), yield its
    ``redis://`` URL, stop it afterwards."""
    executable = require_redis_server()
    with tempfile.TemporaryDirectory(prefix="smalldata-redis-") as workdir:
        process, port = _start(executable, workdir, port)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop(process)


def start_redis(
    workdir: str, port: int | None = None, options: Sequence[str] = ()
) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``redis-server`` in ``workdir`` (on ``port``, else a free one) and return it and its port.

    ``options`` come after the defaults and win over them (``--appendonly yes`` keeps the
    data through a ``kill -9`` and a restart on the same port and folder). The caller stops it.
    """
    return _start(require_redis_server(), workdir, port, options)


def _start(
    executable: str, workdir: str, wanted: int | None, options: Sequence[str] = ()
) -> tuple[subprocess.Popen[bytes], int]:
    # Another process may grab the free port between our check and redis' bind: retry.
    last_error = ""
    for _attempt in range(3):
        port = wanted or free_port()
        logfile = os.path.join(workdir, f"redis-{port}.log")
        process = subprocess.Popen(
            [
                executable,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--save", "",
                "--appendonly", "no",
                "--dir", workdir,
                "--daemonize", "no",
                "--loglevel", "warning",
                "--logfile", logfile,
                *options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if _wait_until_ready(process, port):
            return process, port
        process.kill()
        process.wait()
        with open(logfile, encoding="utf-8", errors="replace") as log:
            last_error = log.read()[-2000:]
    raise RuntimeError(f"redis-server did not start:\n{last_error}")


def _wait_until_ready(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False
