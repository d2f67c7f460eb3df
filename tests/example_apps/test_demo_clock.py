"""``smalldata demo --clock``: travel in time in the demo shop, e.g. to come back as a returning visitor."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from smalldata.cli import main
from smalldata.tools import demo
from smalldata.tools.demo import demo_clock, load_app

ZONE = ZoneInfo("Europe/Copenhagen")
EN = {"accept-language": "en"}


def greeting(response: Any) -> str:
    match = re.search(r'id="smalldata">(.*?)</script>', response.text)
    assert match, "no payload on the page"
    return str(json.loads(match.group(1))["decision"]["greeting"])


def test_an_offset_runs_the_clock_that_far_ahead() -> None:
    clock = demo_clock("+31m", ZONE)
    ahead = clock() - datetime.now(ZONE)
    assert timedelta(minutes=30, seconds=59) < ahead <= timedelta(minutes=31, seconds=1)
    assert clock().tzinfo is not None


def test_a_time_starts_the_clock_there_in_the_shop_time_zone_and_it_runs_on() -> None:
    ticks = iter([100.0, 100.0, 190.0])
    clock = demo_clock("2026-12-05T10:00", ZONE, monotonic=lambda: next(ticks))
    assert clock() == datetime(2026, 12, 5, 10, 0, tzinfo=ZONE)
    assert clock() == datetime(2026, 12, 5, 10, 1, 30, tzinfo=ZONE)


@pytest.mark.parametrize("spec", ["tomorrow", "+31", "31m", "2026-13-01T10:00"])
def test_a_clock_that_cannot_be_read_is_a_usage_error(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--clock", spec]) == 2
    assert f"smalldata demo: --clock '{spec}': write a time such as 2026-12-05T10:00 or" in capsys.readouterr().err


def test_smalldata_demo_clock_hands_the_shop_its_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    built: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    monkeypatch.setattr(demo, "load_app", lambda **options: built.update(options))
    assert main(["demo", "--port", "0", "--clock", "2026-12-05T10:00"]) == 0
    clock: Callable[[], datetime] = built["clock"]
    assert clock() - datetime(2026, 12, 5, 10, 0, tzinfo=ZONE) < timedelta(seconds=5)


def test_coming_back_31_minutes_later_is_a_returning_visit() -> None:
    wednesday_10 = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)  # stands in for the real time
    with TestClient(load_app(clock=lambda: wednesday_10), headers=EN) as today:
        assert greeting(today.get("/pricing")) == "Welcome to Nordisk Hjem"
        cookies = today.cookies
    later_app = load_app(clock=demo_clock("+31m", ZONE, now=lambda: wednesday_10))
    with TestClient(later_app, headers=EN, cookies=cookies) as later:
        assert greeting(later.get("/pricing")) == "Welcome back!"
