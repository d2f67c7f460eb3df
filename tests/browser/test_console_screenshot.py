"""The README's console screenshot can be re-made: scripts/console_screenshot.py shows the Try page."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

from tests.console.helpers import copy_rules

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "console_screenshot.py"


def test_console_screenshot_script_writes_a_png(browser: Any, tmp_path: Path) -> None:
    take = runpy.run_path(str(SCRIPT))["take"]
    output = take(tmp_path / "console.png", browser, copy_rules(tmp_path / "rules"))
    data = output.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 50_000
