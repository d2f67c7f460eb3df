"""smalldata.guest: a cancellation of the page's own task propagates, and never reaches the shop's work."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from smalldata.guest import Guest, GuestPool

STARTED = asyncio.Event()
FINISHED: list[str] = []


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
