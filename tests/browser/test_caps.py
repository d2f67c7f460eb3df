"""A capped chat invitation in pages a browser loaded at the same time is shown once.

With the cookie store nothing on the server sees every response to one cookie: two
tabs opened together are both decided before either shows its invitation. The
browser is where they meet, and the client script keeps the cap there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from smalldata.app import Overrides
from smalldata.middleware import SmallData
from smalldata.settings import Settings
from smalldata.tools.demo import serve_in_thread

from .conftest import Clock

BUBBLE = "#smalldata-chat"
RULES = """
rules:
  - id: help-once
    when: {page.path: /help}
    cap: {max: 1, per: day}
    then:
      chat: {message: "Can we help you find the right size?", after_seconds: 0.5}
"""


async def _page(request: Request) -> HTMLResponse:
    if request.url.path == "/help":
        await asyncio.sleep(0.3)  # the shop's own work: both tabs' requests are out at once
    return HTMLResponse("<html><head><title>Help</title></head><body><h1>Help</h1></body></html>")


@pytest.fixture(scope="module")
def capped_shop(tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[str]:
    rules = tmp_path_factory.mktemp("rules")
    (rules / "help.yaml").write_text(RULES)
    settings = Settings.model_validate({"rules": str(rules), "state": {"secret_keys": ["browser-test-key-0123456789"]}})
    app = Starlette(routes=[Route("/", _page), Route("/help", _page)])
    with serve_in_thread(SmallData(app, settings=settings, overrides=Overrides(clock=clock))) as url:
        yield url


def _open_together(context: Any, url: str) -> list[Any]:
    tabs = [context.new_page() for _ in range(2)]
    for tab in tabs:
        tab.evaluate(f"location.href = {url!r}")  # both navigations start before either answers
    for tab in tabs:
        tab.wait_for_load_state("load")
        tab.wait_for_function("window.smalldata !== undefined")
    return tabs


def test_two_tabs_opened_together_show_a_once_a_day_invitation_once(
    context: Any, page: Any, capped_shop: str, clock: Clock
) -> None:
    page.goto(capped_shop)  # a first page: the visitor gets a cookie

    tabs = _open_together(context, f"{capped_shop}/help")

    # both were decided before either showed it: each page carries the invitation and its cap
    assert all(tab.evaluate("window.smalldata.decision.chat.cap.max") == 1 for tab in tabs)
    tabs[0].wait_for_timeout(1500)
    assert sum(tab.locator(BUBBLE).count() for tab in tabs) == 1

    clock.now += timedelta(days=1)  # a new day: the cap's next period
    tabs[0].goto(f"{capped_shop}/help")
    tabs[0].wait_for_selector(BUBBLE, state="visible")
