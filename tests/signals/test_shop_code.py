"""The shop's own functions (user.callable, basket.callable, declared sources): one convention, called safely.

See docs/shop-code.md. Every function gets the page's Starlette Request; a plain one runs in
smalldata's threads, an awaitable is awaited, within the timeout, never cancelling what the shop shares.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from smalldata.middleware import SmallData
from smalldata.settings import Settings

from .helpers import request, settings

# -- user.callable: what it may be ---------------------------------------------------------------


def _nobody(request: Request) -> None:
    return None


def _ada(request: Request) -> dict[str, Any]:
    assert isinstance(request, Request)  # the one convention: a Starlette Request, not the scope
    return {"id": "c-1", "first_name": "Ada"}


async def _ada_async(request: Request, *, name: str = "Ada") -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"id": "c-1", "first_name": name}


class _Customers:
    """A shop's service object: its methods and the object itself are callables."""

    def lookup(self, request: Request) -> dict[str, Any]:
        return _ada(request)

    async def lookup_async(self, request: Request) -> dict[str, Any]:
        return await _ada_async(request)

    async def __call__(self, request: Request) -> dict[str, Any]:
        return await _ada_async(request)


customers = _Customers()
nobody_via_asgiref = sync_to_async(_nobody)
ada_via_asgiref = sync_to_async(_ada)
ada_partial = functools.partial(_ada_async, name="Ada")
ada_sync_partial = functools.partial(_ada)


def ada_later(request: Request) -> Any:
    return _ada_async(request)  # a plain function answering a coroutine: found out by calling it


def not_a_user(request: Request) -> Any:
    return object()  # neither a user nor None: an error, never a logged-in visitor


def needs_a_thread_of_its_own(request: Request) -> dict[str, Any]:
    # what Django's ORM checks before a query (SynchronousOnlyOperation on the event loop's thread)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return {"id": "c-1", "first_name": "Ada"}
    raise RuntimeError("called on the event loop")


class _LazyUser:
    """A framework's user whose fields load on first access, which (like Django's ORM) refuses the loop's thread."""

    is_authenticated = True
    id = 7

    @property
    def first_name(self) -> str:
        return needs_a_thread_of_its_own(None)["first_name"]  # type: ignore[arg-type]


def lazy_user(request: Request) -> _LazyUser:
    return _LazyUser()


async def _user(dotted: str) -> dict[str, Any]:
    config = settings(user={"callable": f"{__name__}:{dotted}", "timeout_ms": 5_000})  # a loaded CI machine
    signals = request("/", config=config)
    await signals.prefetch(["user"])
    return {name.split(".", 1)[1]: value for name, value in signals.namespace("user").items()}


async def test_an_anonymous_visitor_of_a_sync_to_async_user_callable_is_not_logged_in() -> None:
    assert (await _user("nobody_via_asgiref"))["logged_in"] is False


@pytest.mark.parametrize("dotted", ["ada_via_asgiref", "ada_partial", "ada_sync_partial", "ada_later",
                                    "customers.lookup", "customers.lookup_async", "customers", "_ada", "_ada_async"])
async def test_every_kind_of_callable_is_called_and_its_awaitable_awaited(dotted: str) -> None:
    found = await _user(dotted)
    assert (found["logged_in"], found["first_name"]) == (True, "Ada")


async def test_an_answer_of_an_unexpected_type_is_unknown_never_a_logged_in_user(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = settings(user={"callable": f"{__name__}:not_a_user", "timeout_ms": 5_000})
    with caplog.at_level(logging.WARNING, logger="smalldata"):
        for _ in range(5):
            signals = request("/", config=config)
            await signals.prefetch(["user"])
            assert signals["user.logged_in"] is None
    assert len([record for record in caplog.records if "not a user" in record.getMessage()]) == 1


async def test_a_plain_callable_runs_off_the_event_loop() -> None:
    assert (await _user("needs_a_thread_of_its_own"))["first_name"] == "Ada"


async def test_a_user_object_is_read_in_the_callables_thread_not_on_the_loop() -> None:
    assert (await _user("lazy_user"))["first_name"] == "Ada"


# -- declared sources through the middleware -----------------------------------------------------

FIELDS = {"points": "number"}
RULES = """
rules:
  - {id: points, when: {loyalty.points: {gte: 1}}, then: {greeting: "{loyalty.points} points"}}
  - {id: unknown, when: {loyalty.points: null}, then: {greeting: no points known}}
"""
CALLS: list[str] = []


class Stuck:
    """``inside`` is set while a call is stuck in the shop's code; ``release`` lets it go. Fresh for each
    test, so a call left stuck by an earlier test never touches a later test's events."""

    inside = threading.Event()
    release = threading.Event()


def stuck_loyalty(request: Request) -> dict[str, Any]:
    """A plain source whose database hangs for /stuck (for up to 5 s), and answers at once elsewhere."""
    CALLS.append(request.url.path)
    if request.url.path == "/stuck":
        inside, release = Stuck.inside, Stuck.release
        inside.set()
        try:
            release.wait(5)
        finally:
            inside.clear()
    return {"points": 7}


SHARED: dict[str, asyncio.Task[dict[str, Any]]] = {}


async def _fill_cache() -> dict[str, Any]:
    await asyncio.sleep(0.3)
    return {"points": 7}


async def shared_loyalty(request: Request) -> dict[str, Any]:
    """The caching pattern: every page awaits the one in-flight lookup."""
    if "task" not in SHARED:
        SHARED["task"] = asyncio.ensure_future(_fill_cache())
    return await SHARED["task"]


async def cancelled_loyalty(request: Request) -> dict[str, Any]:
    raise asyncio.CancelledError


def cancelled_loyalty_sync(request: Request) -> dict[str, Any]:
    raise asyncio.CancelledError


def broken_loyalty(request: Request) -> dict[str, Any]:
    raise RuntimeError("the loyalty database is down")


@pytest.fixture(autouse=True)
def _fresh() -> Any:
    CALLS.clear()
    USERS.clear()
    SHARED.clear()
    Stuck.inside, Stuck.release = threading.Event(), threading.Event()
    yield
    Stuck.release.set()  # never leave a thread stuck past the test


USERS: list[str] = []


async def counted_user(request: Request) -> dict[str, Any]:
    USERS.append(request.url.path)
    return {"id": "c-1"}


def _app(tmp_path: Path, source: str, *, timeout_ms: int = 200, threads: int = 4) -> SmallData:
    (tmp_path / "rules.yaml").write_text(RULES)
    config = Settings.model_validate({
        "rules": str(tmp_path), "shop_code": {"threads": threads}, "user": {"callable": f"{__name__}:counted_user"},
        "signals": {"loyalty": {"source": f"{__name__}:{source}", "fields": FIELDS, "timeout_ms": timeout_ms}},
    })  # fmt: skip

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(f"<html><body><h1>{request.state.smalldata.greeting or ''}</h1></body></html>")

    return SmallData(Starlette(routes=[Route("/{path:path}", page)]), settings=config)


def _client(app: SmallData) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://shop.test", timeout=30)


def _greeting(response: httpx.Response) -> str:
    assert response.status_code == 200
    return response.text.split("<h1>")[1].split("</h1>")[0]


async def _until(event: threading.Event) -> None:
    for _ in range(500):  # up to 5 s, without blocking the loop the pages run on
        if event.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the source was never called")


async def test_a_stuck_plain_source_does_not_hold_up_other_pages(tmp_path: Path) -> None:
    async with _client(_app(tmp_path, "stuck_loyalty", timeout_ms=2_000)) as client:
        stuck = asyncio.ensure_future(client.get("/stuck"))
        await _until(Stuck.inside)
        others = await asyncio.gather(*(client.get(f"/page/{n}") for n in range(5)))
        still_stuck = Stuck.inside.is_set()  # the other pages did not wait for the stuck call
        Stuck.release.set()
        await stuck
    assert still_stuck
    assert [_greeting(response) for response in others] == ["7 points"] * 5


async def test_a_page_does_not_wait_for_a_stuck_plain_source_beyond_its_timeout(tmp_path: Path) -> None:
    async with _client(_app(tmp_path, "stuck_loyalty", timeout_ms=100)) as client:
        response = await client.get("/stuck")
        served_while_stuck = Stuck.inside.is_set()
    assert served_while_stuck
    assert _greeting(response) == "no points known"


async def test_when_every_thread_is_stuck_a_page_goes_on_without_the_fields(tmp_path: Path) -> None:
    async with _client(_app(tmp_path, "stuck_loyalty", timeout_ms=100, threads=1)) as client:
        stuck = asyncio.ensure_future(client.get("/stuck"))
        await _until(Stuck.inside)
        queued = await client.get("/")  # its call waits behind the stuck one, no longer than the timeout
        Stuck.release.set()
        await stuck
    await asyncio.sleep(0.1)  # the freed thread would now run a call still queued
    assert _greeting(queued) == "no points known"
    assert CALLS == ["/stuck"]  # the late call was dropped, never run after its page went


async def test_pages_sharing_one_in_flight_task_are_all_served_and_the_task_is_not_cancelled(tmp_path: Path) -> None:
    async with _client(_app(tmp_path, "shared_loyalty", timeout_ms=50)) as client:
        pages = await asyncio.gather(*(client.get(f"/p/{n}") for n in range(64)), return_exceptions=True)
    assert [_greeting(page) if isinstance(page, httpx.Response) else repr(page) for page in pages] == [
        "no points known"] * 64  # fmt: skip
    shared = SHARED["task"]
    assert await shared == {"points": 7} and not shared.cancelled()


@pytest.mark.parametrize("source", ["cancelled_loyalty", "cancelled_loyalty_sync"])
async def test_cancelled_error_raised_by_the_shops_code_is_a_failed_source(tmp_path: Path, source: str) -> None:
    async with _client(_app(tmp_path, source)) as client:
        assert _greeting(await client.get("/")) == "no points known"


async def test_a_failing_source_is_logged_once_not_on_every_page(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="smalldata"):
        async with _client(_app(tmp_path, "broken_loyalty")) as client:
            for n in range(20):
                assert _greeting(await client.get(f"/p/{n}")) == "no points known"
    logged = [record for record in caplog.records if "signals.loyalty" in record.getMessage()]
    assert len(logged) == 1 and "the loyalty database is down" in logged[0].getMessage()


async def test_rules_that_read_only_a_declared_source_never_call_the_user_callable(tmp_path: Path) -> None:
    async with _client(_app(tmp_path, "stuck_loyalty")) as client:
        assert _greeting(await client.get("/")) == "7 points"
    assert USERS == []  # the customer lookup may be a database query: only pages that need it pay for it
