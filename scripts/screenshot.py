"""Take docs/demo.png: the demo shop with a personal greeting and a chat invitation.

Runs the shop (shipped ``rules/``) on loopback with the clock fixed on a
Wednesday morning, logs in a demo customer, opens the pricing page and lets the
browser's clock run past the invitation's dwell time.

    python scripts/screenshot.py [OUTPUT.png]
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from smalldata.tools.demo import headless_chromium, load_app, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
WEDNESDAY_MORNING = datetime(2026, 11, 25, 10, 30, tzinfo=ZoneInfo("Europe/Copenhagen"))


def take(output: Path = ROOT / "docs" / "demo.png", browser: Any = None) -> Path:
    """Write the screenshot to ``output`` and return its path (with a fresh Chromium unless given one)."""
    if browser is None:
        with headless_chromium() as own:
            return take(output, own)
    with serve_in_thread(load_app(clock=lambda: WEDNESDAY_MORNING)) as shop:
        context = browser.new_context(locale="en-GB", viewport={"width": 1200, "height": 720})
        page = context.new_page()
        page.goto(f"{shop}/login")
        page.select_option("select[name=customer]", "mette")
        page.click("form.stack button[type=submit]")
        page.wait_for_url(f"{shop}/")
        page.clock.install(time=WEDNESDAY_MORNING)
        page.goto(f"{shop}/pricing")
        page.wait_for_selector('[data-smalldata-slot="greeting"]:not([hidden])')
        page.clock.fast_forward(25_000)  # past the pricing chat's 20-second dwell time
        page.wait_for_selector("#smalldata-chat", state="visible")
        output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(output))
        context.close()
    return output


if __name__ == "__main__":
    print(take(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "demo.png"))
