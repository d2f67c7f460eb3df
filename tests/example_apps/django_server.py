"""The example Django shop under uvicorn in a subprocess, on a free loopback port, with its own SQLite file.

:func:`serve` prepares the database (``python -m examples.django_shop.seed``) and starts
``uvicorn examples.django_shop.asgi:application`` (smalldata around Django) or, with
``bare=True``, Django's own ASGI application with the same settings (no smalldata around it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

try:  # the repository root on sys.path (python -m pytest)
    from tests.redis_server import free_port, stop
except ImportError:  # tests/ on sys.path (pytest's default rootdir insertion)
    from redis_server import free_port, stop  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[2]
SECRET = "django-shop-test-secret-0123456789"
CUSTOMER = ("anna", "hygge-2026")
START_SECONDS = 30.0


def environment(database: Path) -> dict[str, str]:
    """The subprocesses' environment: this worktree's code, the test database, a known signing key."""
    return {**os.environ, "PYTHONPATH": str(REPO), "DJANGO_SHOP_DB": str(database), "SMALLDATA_SECRET_KEYS": SECRET,
            "DJANGO_SETTINGS_MODULE": "examples.django_shop.settings"}  # fmt: skip


def prepare(database: Path) -> None:
    """Create the tables and the seeded customer in ``database``."""
    subprocess.run([sys.executable, "-m", "examples.django_shop.seed"], cwd=REPO, env=environment(database),
                   check=True, timeout=120)  # fmt: skip


@contextmanager
def serve(database: Path, *, bare: bool = False) -> Iterator[str]:
    """The shop's base URL while uvicorn serves it (one worker, no proxy headers)."""
    for attempt in range(3):  # a free port can be taken by another process before uvicorn binds it
        process, url, log = _start(database, bare)
        try:
            _wait_until_up(process, url, log)
            break
        except RuntimeError:
            stop(process, timeout=10)
            if attempt == 2 or "address already in use" not in log.read_text():
                raise
    try:
        yield url
    finally:
        stop(process, timeout=10)


def _start(database: Path, bare: bool) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    app = ["--factory", "django.core.asgi:get_asgi_application"] if bare else ["examples.django_shop.asgi:application"]
    command = [sys.executable, "-m", "uvicorn", *app, "--port", str(port), "--no-proxy-headers",
               "--no-access-log"]  # fmt: skip
    log = database.with_name(f"uvicorn-{'bare' if bare else 'smalldata'}.log")
    with log.open("wb") as output:  # a file, not a pipe nobody reads (a full pipe would stall the server)
        process = subprocess.Popen(command, cwd=REPO, env=environment(database), stdout=output, stderr=output)
    return process, f"http://127.0.0.1:{port}", log




def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn stopped before it served the Django shop:\n{log.read_text()}")
        try:
            httpx.get(url + "/static/shop.css", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the Django shop did not answer at {url} within {START_SECONDS} s")
