"""``smalldata demo``: run the example shop from the repository's ``examples/`` folder.

The shop is not part of the installed package (it is an example to read and
copy), so this finds ``examples/`` next to the ``smalldata`` package, which
works for a source checkout or an editable install.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from smalldata.foundation.dates import to_moment

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_OFFSET = re.compile(r"^([+-])(.+)$")


class DemoNotFound(RuntimeError):
    """The example shop is not next to the installed package (e.g. installed from a wheel)."""


def load_app(**options: Any) -> Any:
    """The demo shop's ASGI app (``examples.shop.app:create_app(**options)``)."""
    if not (EXAMPLES / "shop" / "app.py").is_file():
        raise DemoNotFound(
            f"the demo shop was not found in {EXAMPLES}; run `smalldata demo` from a source checkout "
            "(git clone, then `pip install -e .`)"
        )
    root = str(EXAMPLES.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from examples.shop.app import create_app

    return create_app(**options)


def demo_clock(
    spec: str,
    zone: ZoneInfo,
    *,
    now: Callable[[], datetime] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> Callable[[], datetime]:
    """The shop's clock for ``smalldata demo --clock``: travel in time without waiting.

    ``+31m`` (``-2d``, ``+1h30m``, …) runs that far ahead of (or behind) the real
    time; a time such as ``2026-12-05T10:00`` (the shop's time zone unless it has an
    offset) starts the clock there, and it runs on. Raises ValueError for anything else.
    """
    from smalldata.rules.durations import parse_duration

    real = now or (lambda: datetime.now(zone))
    offset = _OFFSET.match(spec.strip())
    try:
        if offset:
            shift = parse_duration(offset.group(2))
            shift = -shift if offset.group(1) == "-" else shift
            return lambda: real() + shift
        start = to_moment(spec, zone)
        if start is None:
            raise ValueError
    except ValueError:
        raise ValueError(f"--clock '{spec}': write a time such as 2026-12-05T10:00 or an offset such as +31m") from None
    started = monotonic()
    return lambda: start + timedelta(seconds=monotonic() - started)


@contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port in a background thread; yields its base URL.

    Used by the browser tests and ``scripts/screenshot.py``. The socket is bound
    before the server starts, so there is no race for the port.
    """
    uvicorn = _uvicorn()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the demo server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


#: The system's Chromium (never ``playwright install``), headless, as the screenshot scripts and the
#: browser tests drive it.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """The system's Chromium launched through Playwright (the test extra), closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


def run(host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Serve the demo shop with uvicorn until interrupted."""
    uvicorn = _uvicorn()

    app = load_app(**options)
    print(f"smalldata demo shop on http://{host}:{port}/  (rules: {options.get('rules') or 'rules/'})")
    clock = options.get("clock")
    if clock is not None:
        print(f"the shop's clock says {clock():%Y-%m-%d %H:%M %Z} and runs on")
    # proxy headers off: uvicorn would otherwise believe X-Forwarded-For from any loopback client
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


__all__ = ["CHROMIUM", "DemoNotFound", "demo_clock", "headless_chromium", "load_app", "run", "serve_in_thread"]


def _uvicorn() -> Any:
    try:
        import itsdangerous  # noqa: F401  # the example shop's sessions
        import uvicorn
    except ImportError:
        raise DemoNotFound("the demo needs its extra: pip install 'smalldata[demo]'") from None
    return uvicorn
