"""A save runs the folder's rule tests: one that breaks a test is held back until the merchandiser confirms."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.console.helpers import LOOPBACK, console_app, copy_rules
from tests.console.test_pages import text_of


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return copy_rules(tmp_path / "rules")


@pytest.fixture
def client(rules: Path) -> TestClient:
    return TestClient(console_app(rules, author="Mette"), base_url=LOOPBACK)


def _post(client: TestClient, name: str, text: str, action: str = "save", **fields: str) -> object:
    html = client.get(f"/edit/{name}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    base = re.search(r'name="base" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    return client.post(f"/edit/{name}", data={"csrf": csrf, "base": base, "text": text, "action": action, **fields})


def _breaking(rules: Path) -> str:
    return (rules / "greetings.yaml").read_text().replace('en: "Welcome back!"', 'en: "Welcome home!"')


def test_a_save_that_breaks_a_rule_test_is_held_back_with_the_tests_difference(client: TestClient, rules: Path) -> None:
    before = (rules / "greetings.yaml").read_text()
    response = _post(client, "greetings.yaml", _breaking(rules))
    assert response.status_code == 409  # type: ignore[attr-defined]
    page = text_of(response.text)  # type: ignore[attr-defined]
    assert "this change makes 1 rule test(s) fail" in page
    assert "greeting: expected 'Welcome back!', got 'Welcome home!'" in page
    assert "Save anyway" in page
    assert (rules / "greetings.yaml").read_text() == before  # the shop never saw it


def test_a_confirmed_save_goes_live_and_the_history_records_the_confirmation(client: TestClient, rules: Path) -> None:
    response = _post(client, "greetings.yaml", _breaking(rules), action="confirm")
    assert response.status_code == 200  # type: ignore[attr-defined]  # after the redirect
    assert 'en: "Welcome home!"' in (rules / "greetings.yaml").read_text()
    entry = json.loads((rules / ".history" / "log.jsonl").read_text().splitlines()[-1])
    assert entry["author"] == "Mette" and entry["file"] == "greetings.yaml"
    assert "saved with failing tests, confirmed:" in entry["summary"]

