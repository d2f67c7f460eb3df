"""A real profile service (CRM) on loopback whose behaviour the suite switches while pages are served.

Modes: ``ok`` (a profile), ``slow`` (the profile, later than smalldata's call timeout),
``error`` (HTTP 500), ``reset`` (the connection reset without an answer) and ``garbage``
(in turn: truncated JSON, JSON that is not an object, 4 KB of ``[``, invalid UTF-8).
"""

from __future__ import annotations

import itertools
import json
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "slow", "error", "reset", "garbage")
GARBAGE = (b'{"id": "u1", "first_name": "Me', b'"just text"', b"[" * 4096, b'{"first_name": "\xff\xfe"}')


class Crm:
    """The service's state: the current ``mode`` and the calls it got per mode."""

    def __init__(self, slow_seconds: float) -> None:
        self.mode = "ok"
        self.slow_seconds = slow_seconds
        self.calls: Counter[str] = Counter()
        self.url = ""
        self._garbage = itertools.cycle(GARBAGE)
        self._lock = threading.Lock()

    def next_garbage(self) -> bytes:
        with self._lock:
            return next(self._garbage)


def profile(user_id: str) -> dict[str, str]:
    """What the CRM knows of ``user_id`` (the greeting uses the first name)."""
    return {"id": user_id, "first_name": f"Mette{user_id}", "tier": "gold"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real service answers
    server: _Server

    def do_GET(self) -> None:
        crm = self.server.crm
        mode = crm.mode
        crm.calls[mode] += 1
        user_id = self.path.rsplit("/", 1)[-1]
        if mode == "reset":
            # linger 0: closing sends RST instead of FIN, the connection dies mid-request
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if mode == "slow":
            time.sleep(crm.slow_seconds)
        if mode == "error":
            self._answer(500, b'{"error": "database is down"}')
        elif mode == "garbage":
            self._answer(200, crm.next_garbage())
        else:
            self._answer(200, json.dumps(profile(user_id)).encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None  # quiet: the suite counts calls instead


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    crm: Crm

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # a client that gave up on a slow answer is expected here


@contextmanager
def crm_server(slow_seconds: float = 1.5) -> Iterator[Crm]:
    """Serve the CRM on a free loopback port in a thread; ``Crm.url`` is its profile URL with ``{id}``."""
    server = _Server(("127.0.0.1", 0), _Handler)
    crm = server.crm = Crm(slow_seconds)
    crm.url = f"http://127.0.0.1:{server.server_address[1]}/profiles/{{id}}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield crm
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
