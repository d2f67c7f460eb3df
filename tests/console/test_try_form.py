"""The Try page's form as a merchandiser uses it: the persona box keeps the persona, messages speak no CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from smalldata.tools.console.texts import texts
from tests.console.helpers import LOOPBACK, console_app, copy_rules
from tests.console.test_pages import WEDNESDAY_MORNING, text_of


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(console_app(copy_rules(tmp_path / "rules")), base_url=LOOPBACK)


def _selected_persona(html: str) -> str:
    found = re.search(r'<option value="([a-z_]+)" selected>', html.split('id="persona"')[1].split("</select>")[0])
    return found.group(1) if found else ""


def test_the_persona_box_keeps_the_persona_after_the_visitor_is_tried_again(client: TestClient) -> None:
    html = client.get("/try", params={"persona": "vip", "at": WEDNESDAY_MORNING}).text
    assert _selected_persona(html) == "vip"
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html.split('class="visitor"')[1]))
    again = client.get("/try", params={**form, "url": "/pricing", "at": WEDNESDAY_MORNING,
                                       "sets": "visitor.returning=true\nuser.logged_in=true"}).text
    assert _selected_persona(again) == "vip"


def test_a_bad_signal_line_is_explained_without_command_line_words(client: TestClient) -> None:
    page = client.get("/try", params={"sets": "basket.total=lots\nnonsense", "at": WEDNESDAY_MORNING})
    message = text_of(page.text.split('id="form-error"')[1].split("</span>")[0])
    assert "basket.total is a number, not 'lots'" in message
    assert "--set" not in message


def test_no_interface_text_speaks_command_line() -> None:
    for language in ("en", "da"):
        spoken = [key for key, text in texts(language).items() if "smalldata " in text or re.search(r"\s--\w", text)]
        assert spoken == [], language
