"""Browser tests: the demo shop under uvicorn on loopback, driven by real headless Chromium.

Chromium is the system's ``/usr/bin/chromium`` (never ``playwright install``).
Locally the tests skip with a reason when it or Playwright is missing; under
``CI=true`` they fail instead, so a broken CI image cannot pass silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from smalldata.events import CallableSink
from smalldata.tools.demo import CHROMIUM, headless_chromium, load_app, serve_in_thread

RULES = Path(__file__).parent / "rules"
SHOP_ZONE = ZoneInfo("Europe/Copenhagen")
# A Wednesday morning: the shop is open (09:00-17:00).
OPEN = datetime(2026, 11, 25, 10, 0, tzinfo=SHOP_ZONE)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


class Clock:
    """The shop's clock, set by each test."""

    def __init__(self) -> None:
        self.now = OPEN

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock()


@pytest.fixture(autouse=True)
def _reset_clock(clock: Clock) -> None:
    clock.now = OPEN


@pytest.fixture(scope="session")
def events() -> list[dict[str, Any]]:
    """What the shops wrote to their event sink (instead of a file in the repository)."""
    return []


@pytest.fixture(autouse=True)
def _reset_events(events: list[dict[str, Any]]) -> None:
    events.clear()


def _serve(rules: Path | None, clock: Clock, events: list[dict[str, Any]]) -> Iterator[str]:
    with serve_in_thread(load_app(rules=rules, clock=clock, events=CallableSink(events.append))) as url:
        yield url


@pytest.fixture(scope="session")
def shop(clock: Clock, events: list[dict[str, Any]]) -> Iterator[str]:
    """The demo shop with the browser tests' rules (short dwell times)."""
    yield from _serve(RULES, clock, events)


@pytest.fixture(scope="session")
def shipped_shop(clock: Clock, events: list[dict[str, Any]]) -> Iterator[str]:
    """The demo shop with the shipped ``rules/``, exactly as ``smalldata demo`` runs it."""
    yield from _serve(None, clock, events)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not os.path.exists(CHROMIUM):
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    with headless_chromium() as browser:
        yield browser


#: The screens a shopper's pages are tested on: a laptop, and a phone (an iPhone 14's CSS pixels).
SCREENS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3,
        "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/124.0.0.0 Mobile Safari/537.36",
    },
}


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest) -> str:
    """Each test that asks for it runs on every screen of :data:`SCREENS`."""
    return str(request.param)


@pytest.fixture
def open_page(browser: Any, screen: str) -> Iterator[Any]:
    """``open_page(locale)``: a page in a fresh browser profile on this test's screen."""
    contexts: list[Any] = []

    def open_(locale: str = "en-GB") -> Any:
        context = browser.new_context(locale=locale, **SCREENS[screen])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(5000)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile per test: no cookies, no session storage."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Any:
    page = context.new_page()
    page.set_default_timeout(5000)
    return page
