"""Deferred mode and DOM events: identical HTML for everyone, personalisation fetched by the client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from smalldata.app import Overrides
from smalldata.events import NullSink
from smalldata.middleware import SmallData
from smalldata.state import CookieStore, StateSettings
from smalldata.tools.demo import serve_in_thread

from .conftest import RULES, Clock

PAGE = """<!doctype html><html><body>
<p data-smalldata-slot="greeting">Hello</p>
<div data-smalldata-slot="banner:hero">Default banner</div>
</body></html>"""


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE, headers={"Cache-Control": "public, max-age=300"})


def _app(clock: Clock, *, deferred: bool) -> Any:
    store = CookieStore(StateSettings(secret_keys=(SecretStr("browser-test-secret-key"),)))
    app = Starlette(routes=[Route("/{path:path}", page)])
    app.add_middleware(SmallData, rules=RULES, deferred=deferred,
        overrides=Overrides(clock=clock, store=store, events=NullSink()))
    return app


@pytest.fixture(scope="module")
def deferred_site(clock: Clock) -> Iterator[str]:
    with serve_in_thread(_app(clock, deferred=True)) as url:
        yield url


@pytest.fixture(scope="module")
def inline_site(clock: Clock) -> Iterator[str]:
    with serve_in_thread(_app(clock, deferred=False)) as url:
        yield url


def test_deferred_page_is_cacheable_and_filled_from_decide(page: Any, deferred_site: str) -> None:
    response = page.goto(f"{deferred_site}/deferred")
    assert response.headers["cache-control"] == "public, max-age=300"
    assert 'id="smalldata"' not in response.text()
    page.wait_for_selector('[data-smalldata-slot="greeting"]:has-text("Hello from /decide")')
    assert page.inner_text('[data-smalldata-slot="banner:hero"]') == "Cached page, personal banner"


def test_exposure_event_is_emitted_once_per_visitor(page: Any, inline_site: str) -> None:
    page.add_init_script(
        "window.__exposures = [];"
        "document.addEventListener('smalldata:exposure', e => window.__exposures.push(e.detail));"
    )
    page.goto(f"{inline_site}/experiment")
    page.wait_for_function("() => window.smalldata !== undefined")
    assert page.evaluate("window.__exposures") == [{"experiment": "hero-test", "variant": "a", "rule": "hero-test"}]
    assert page.inner_text('[data-smalldata-slot="banner:hero"]') == "Variant A"
    page.reload()
    page.wait_for_function("() => window.smalldata !== undefined")
    assert page.evaluate("window.__exposures") == []
