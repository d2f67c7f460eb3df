"""One broken file never blanks the console: the last good rules stay in view, and Try keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.console.helpers import LOOPBACK, console_app, copy_rules
from tests.console.test_pages import WEDNESDAY_MORNING, text_of

BROKEN = "rules:\n  - id: oops\n    when: {page.pth: /x}\n    then: {greeting: hi}\n"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return copy_rules(tmp_path / "rules")


def test_a_broken_new_file_leaves_the_rules_the_shop_serves_in_view(rules: Path) -> None:
    client = TestClient(console_app(rules), base_url=LOOPBACK)
    assert "named-welcome" in client.get("/").text
    (rules / "zz-new.yaml").write_text(BROKEN)
    page = text_of(client.get("/").text)
    assert "zz-new.yaml:3:12" in page  # the problem at its line
    assert "named-welcome" in page and "pricing-chat" in page  # beside the rules still served
    assert "the last version that checked" in page


def test_a_console_opened_on_a_broken_folder_shows_the_good_files_rules(rules: Path) -> None:
    (rules / "zz-new.yaml").write_text(BROKEN)
    page = text_of(TestClient(console_app(rules), base_url=LOOPBACK).get("/").text)
    assert "zz-new.yaml:3:12" in page and "named-welcome" in page
    assert "greetings.yaml" in page  # the rules under their own file names


def test_try_keeps_working_with_the_last_good_rules_while_a_file_is_broken(rules: Path) -> None:
    client = TestClient(console_app(rules), base_url=LOOPBACK)
    (rules / "zz-new.yaml").write_text(BROKEN)
    page = text_of(client.get("/try", params={"persona": "vip", "at": WEDNESDAY_MORNING}).text)
    assert "zz-new.yaml:3:12" in page
    assert "Hej Anna, godt at se dig igen" in page
