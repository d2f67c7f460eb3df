"""The experiments page shows what ``report`` shows: the split checked against the rules' weights,
revenue per visitor beside the rate, and the visitors a variant still needs."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from starlette.testclient import TestClient

from tests.console.helpers import LOOPBACK, console_app, copy_rules, write_events


def _page(tmp_path: Path, converted: dict[str, int], visitors: dict[str, int] | None = None) -> str:
    """The experiments page's words for winter-hero (weights control 10, a 45, b 45)."""
    rules = copy_rules(tmp_path / "rules")
    path = write_events(tmp_path / "events.jsonl", converted=converted)
    if visitors:  # trim each arm to its number of visitors
        kept = [line for line in path.read_text().splitlines()
                if int(re.search(r'"visitor": "\w+-(\d+)"', line).group(1))  # type: ignore[union-attr]
                < visitors[re.search(r'"visitor": "(\w+)-', line).group(1)]]  # type: ignore[union-attr]  # fmt: skip
        path.write_text("\n".join(kept) + "\n")
    html = TestClient(console_app(rules, path), base_url=LOOPBACK).get("/experiments").text
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_a_split_far_from_the_weights_is_flagged_as_untrustworthy(tmp_path: Path) -> None:
    page = _page(tmp_path, {"control": 10, "a": 12, "b": 30})  # 200 each where the weights say 10/45/45

    assert "Sample ratio mismatch: do not trust these results" in page
    assert "The weights say control 10 % / a 45 % / b 45 %, but the visitors split control 33.3 % / a 33.3 %" in page


def test_a_split_as_the_weights_say_is_not_flagged(tmp_path: Path) -> None:
    page = _page(tmp_path, {"control": 4, "a": 9, "b": 9}, visitors={"control": 44, "a": 200, "b": 196})

    assert "Sample ratio mismatch" not in page


def test_revenue_per_visitor_and_the_visitors_still_needed_are_shown(tmp_path: Path) -> None:
    page = _page(tmp_path, {"control": 10, "a": 12, "b": 30})

    assert "Value per visitor" in page
    assert "significant: better; 67.50 per visitor (45.18–89.82)." in page  # 30 orders of 450 among 200
    assert "not yet significant: about 31,000 more visitors per variant to see a 10 % lift" in page
