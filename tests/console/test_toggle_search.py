"""Switching a rule on or off from the Rules page (one line of its file changes) and finding rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.console.helpers import LOOPBACK, console_app, copy_rules
from tests.console.test_pages import text_of


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = copy_rules(tmp_path / "rules")
    (folder / "summer.yaml").write_text(SUMMER)
    return folder


# comments and blank lines a re-dump of the YAML would lose
SUMMER = """# Kept for June
rules:
  - id: summer-sale  # the outlet page only

    description: Summer sale greeting
    priority: 5   # below the seasonal ones
    when: {page.path: /summer-sale}
    then: {greeting: "Summer sale!"}
"""


@pytest.fixture
def client(rules: Path) -> TestClient:
    return TestClient(console_app(rules), base_url=LOOPBACK)


def _toggle(client: TestClient, rule: str, enabled: bool) -> object:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]
    return client.post("/toggle", data={"csrf": csrf, "rule": rule, "enabled": "true" if enabled else "false"})


def test_switching_a_rule_off_adds_one_line_and_keeps_the_comments(client: TestClient, rules: Path) -> None:
    response = _toggle(client, "summer-sale", False)
    assert response.status_code == 200  # type: ignore[attr-defined]  # back on the Rules page
    after = (rules / "summer.yaml").read_text()
    assert after == SUMMER.replace("only\n", "only\n    enabled: false\n", 1)
    card = client.get("/").text.split('id="rule-summer-sale"')[1].split("</article>")[0]
    assert "Switch on" in card


def test_switching_a_rule_back_on_rewrites_only_its_enabled_line(client: TestClient, rules: Path) -> None:
    _toggle(client, "summer-sale", False)
    switched_off = (rules / "summer.yaml").read_text()
    _toggle(client, "summer-sale", True)
    assert (rules / "summer.yaml").read_text() == switched_off.replace("    enabled: false\n", "    enabled: true\n", 1)


def test_switching_off_a_rule_a_test_needs_is_held_back_like_any_save(client: TestClient, rules: Path) -> None:
    before = (rules / "chat.yaml").read_text()
    response = _toggle(client, "pricing-chat", False)
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert "Save anyway" in response.text  # type: ignore[attr-defined]
    assert (rules / "chat.yaml").read_text() == before


def test_the_search_box_finds_rules_by_their_texts_and_slots(client: TestClient) -> None:
    page = text_of(client.get("/", params={"q": "fri fragt"}).text)
    assert "free-shipping-nudge" in page and "pricing-chat" not in page
    assert re.search(r"\b3 of 26 rules match\.", page)
    by_slot = text_of(client.get("/", params={"q": "chat"}).text)
    assert "pricing-chat" in by_slot and "faq-chat" in by_slot and "free-shipping-nudge" not in by_slot
