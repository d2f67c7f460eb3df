"""smalldata.foundation.guest: a cancellation of the page's own task propagates, and never reaches the shop's work;
a source that hangs is not called again and again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from smalldata.foundation.guest import FAILED, MAX_LATE, Guest, GuestPool

STARTED = asyncio.Event()
FINISHED: list[str] = []
HUNG_CALLS: list[None] = []
NEVER: dict[str, asyncio.Future[None]] = {}


async def hung_source(request: Any) -> dict[str, Any]:
    HUNG_CALLS.append(None)
    await NEVER["future"]  # a connection that never answers
    return {}


async def slow_source(request: Any) -> dict[str, Any]:
    STARTED.set()
    await asyncio.sleep(0.2)
    FINISHED.append("slow_source")
    return {"points": 7}


async def test_a_cancelled_page_is_cancelled_and_the_shops_work_goes_on() -> None:
    STARTED.clear()
    FINISHED.clear()
    guest = Guest(f"{__name__}:slow_source", "signals.loyalty.source", timeout=5, pool=GuestPool())
    page = asyncio.ensure_future(guest.call(None))
    await STARTED.wait()
    page.cancel()  # the client went away
    with pytest.raises(asyncio.CancelledError):
        await page
    await asyncio.sleep(0.3)
    assert FINISHED == ["slow_source"]


async def test_a_hung_async_source_is_not_called_again_once_many_calls_are_late() -> None:
    NEVER["future"] = asyncio.get_running_loop().create_future()
    guest = Guest(f"{__name__}:hung_source", "signals.loyalty.source", timeout=0.001, pool=GuestPool())
    answers = [await guest.call(None) for _ in range(MAX_LATE + 10)]
    assert answers == [FAILED] * (MAX_LATE + 10)
    assert len(HUNG_CALLS) == MAX_LATE  # the work piling up for a hung source is bounded
    NEVER["future"].set_result(None)
