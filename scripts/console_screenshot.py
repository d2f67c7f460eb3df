"""Take docs/console.png: the console's Try page for a logged-in VIP customer on a Wednesday morning.

Serves ``smalldata console`` over the example shop's rules and settings on
loopback (only reading them), chooses the "Logged-in VIP customer" persona and
photographs what the shopper sees beside why each rule did or did not apply.

    python scripts/console_screenshot.py [OUTPUT.png]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from smalldata.tools.console import create_app
from smalldata.tools.demo import headless_chromium, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
WEDNESDAY_MORNING = "2026-11-25T10:00"


def take(output: Path = ROOT / "docs" / "console.png", browser: Any = None, rules: Path = ROOT / "rules") -> Path:
    """Write the screenshot to ``output`` and return its path (with a fresh Chromium unless given one)."""
    if browser is None:
        with headless_chromium() as own:
            return take(output, own, rules)
    app = create_app(rules=rules, config=ROOT / "smalldata.yaml")
    with serve_in_thread(app) as console:
        context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{console}/try?at={WEDNESDAY_MORNING}")
        page.select_option("#persona", "vip")
        page.click("form.personas button[type=submit]")
        page.wait_for_selector(".shopframe .chatbubble")
        output.parent.mkdir(parents=True, exist_ok=True)
        # the whole width, down to the end of the shopper's view (the trace beside it goes on below)
        frame = page.locator(".shopframe").bounding_box()
        bottom = frame["y"] + frame["height"]
        page.screenshot(path=str(output), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 16})
        context.close()
    return output


if __name__ == "__main__":
    print(take(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "console.png"))
