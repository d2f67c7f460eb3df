"""What one call of the shop's own function costs smalldata (docs/shop-code.md), besides the function itself.

    python scripts/guest_cost.py [CALLS]        (default: 20000 calls, 5 runs each)

Prints the median cost per call of a function that only looks a value up (as reading a session
does): called inline on the event loop (what the built-in readers ``user.session_key`` and
``scope["user"]`` still do), through :class:`smalldata.foundation.guest.Guest` as a plain function (a hop to
smalldata's threads and back), and as an ``async def`` (awaited on the loop, shielded, with its deadline).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smalldata.foundation.guest import Guest, GuestPool


def lookup(request: Any) -> dict[str, Any]:
    """A cheap plain function: one dict built, like a session read."""
    return {"id": "c-1"}


async def lookup_async(request: Any) -> dict[str, Any]:
    """The same as an ``async def``."""
    return {"id": "c-1"}


async def measure(calls: int) -> dict[str, float]:
    """Median microseconds per call of each way, over 5 runs of ``calls`` calls."""
    pool = GuestPool(4)
    plain = Guest("guest_cost:lookup", "user.callable", timeout=1, pool=pool)
    awaited = Guest("guest_cost:lookup_async", "user.callable", timeout=1, pool=pool)
    medians: dict[str, float] = {}
    for label, guest in (("inline on the loop", None), ("plain, in smalldata's threads", plain),
                         ("async def, awaited", awaited)):
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(calls):
                if guest is None:
                    lookup(None)
                else:
                    await guest.call(None)
            runs.append((time.perf_counter() - start) / calls * 1e6)
        medians[label] = statistics.median(runs)
    pool.close()
    return medians


def main(calls: int = 20_000) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # Guest imports this module as guest_cost
    for label, micros in asyncio.run(measure(calls)).items():
        print(f"{label:32s} {micros:8.2f} µs per call")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
