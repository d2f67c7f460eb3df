"""The README's screenshot can be re-made: scripts/screenshot.py shows a greeting and a chat bubble."""

from __future__ import annotations

import functools
import runpy
from pathlib import Path
from typing import Any

import pytest

from smalldata.events import NullSink
from smalldata.tools import demo

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshot.py"


def test_screenshot_script_writes_a_png(browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the shop's events go to the configured file; keep this run's out of the repository
    monkeypatch.setattr(demo, "load_app", functools.partial(demo.load_app, events=NullSink()))
    take = runpy.run_path(str(SCRIPT))["take"]
    output = take(tmp_path / "demo.png", browser)
    data = output.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000
