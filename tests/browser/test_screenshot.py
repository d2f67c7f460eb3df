"""The README's screenshot can be re-made: scripts/screenshot.py shows a greeting and a chat bubble."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshot.py"


def test_screenshot_script_writes_a_png(browser: Any, tmp_path: Path) -> None:
    take = runpy.run_path(str(SCRIPT))["take"]
    output = take(tmp_path / "demo.png", browser)
    data = output.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000
