"""Drafts: saved but not served, shown on the real shop through a signed preview link, for that link only."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from smalldata.rules import check_ruleset
from smalldata.settings import load_settings
from smalldata.tools.demo import load_app
from tests.console.helpers import CONFIG, LOOPBACK, console_app, copy_rules
from tests.example_apps.test_shop import WEDNESDAY_10
from tests.example_apps.test_shop_language import _greeting


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return copy_rules(tmp_path / "rules")


@pytest.fixture
def console(rules: Path) -> TestClient:
    return TestClient(console_app(rules, author="Mette"), base_url=LOOPBACK)


@pytest.fixture
def shop(rules: Path) -> Any:
    with TestClient(load_app(rules=rules, clock=lambda: WEDNESDAY_10), headers={"accept-language": "en"}) as client:
        yield client


def _post(console: TestClient, name: str, **fields: str) -> Any:
    html = console.get(f"/edit/{name}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    base = re.search(r'name="base" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    return console.post(f"/edit/{name}", data={"csrf": csrf, "base": base, **fields})


def _draft(console: TestClient, rules: Path, old: str = "Welcome to Nordisk Hjem", new: str = "Welcome to the draft"
           ) -> str:
    text = (rules / "greetings.yaml").read_text().replace(f'en: "{old}"', f'en: "{new}"')
    response = _post(console, "greetings.yaml", text=text, action="draft")
    assert "Saved as a draft" in unescape(response.text)
    return text


def _link(console: TestClient) -> str:
    page = console.get("/preview", params={"url": "/", "at": "2026-11-25T10:00", "language": "en", "drafts": "1",
                                           "sets": "visitor.returning=true"})
    found = re.search(r'id="link" class="link" value="([^"]+)"', page.text)
    assert found, page.text
    return unescape(found.group(1))


def test_a_draft_is_saved_beside_the_file_and_not_served(console: TestClient, rules: Path, shop: Any) -> None:
    before = (rules / "greetings.yaml").read_text()
    _draft(console, rules)
    assert (rules / "greetings.yaml").read_text() == before
    assert _greeting(shop.get("/").text) == "Welcome to Nordisk Hjem"
    assert check_ruleset(rules, load_settings(CONFIG))[1] == []  # the drafts folder is no rule file


def test_a_preview_link_with_the_drafts_shows_them_on_the_real_shop_for_that_link_only(
    console: TestClient, rules: Path, shop: Any
) -> None:
    _draft(console, rules, "Welcome back!", "Welcome back, from the draft!")
    link = _link(console)
    assert _greeting(shop.get(link).text) == "Welcome back, from the draft!"
    assert _greeting(shop.get("/").text) == "Welcome to Nordisk Hjem"  # everyone else: the live rules


def test_a_discarded_draft_leaves_its_link_showing_the_live_rules(console: TestClient, rules: Path,
                                                                  shop: Any) -> None:
    _draft(console, rules, "Welcome back!", "Welcome back, from the draft!")
    link = _link(console)
    _post(console, "greetings.yaml", action="discard")
    assert _greeting(shop.get(link).text) == "Welcome back!"


def test_publishing_a_draft_makes_it_live_and_keeps_it_in_the_history(console: TestClient, rules: Path) -> None:
    text = _draft(console, rules)
    response = _post(console, "greetings.yaml", action="publish")
    assert response.status_code == 200
    assert (rules / "greetings.yaml").read_text() == text
    assert not (rules / ".drafts" / "greetings.yaml").exists()
    assert "published its draft" in console.get("/history/greetings.yaml").text
