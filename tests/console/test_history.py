"""Every console save is kept with its time, author and summary; any version can be compared and restored."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from smalldata.rules import check_ruleset
from smalldata.settings import load_settings
from tests.console.helpers import CONFIG, LOOPBACK, console_app, copy_rules
from tests.console.test_pages import text_of


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return copy_rules(tmp_path / "rules")


def _client(rules: Path) -> TestClient:
    return TestClient(console_app(rules, author="Mette"), base_url=LOOPBACK)


def _csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]


def _save(client: TestClient, name: str, text: str, summary: str = "") -> None:
    html = client.get(f"/edit/{name}").text
    base = re.search(r'name="base" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    response = client.post(f"/edit/{name}", data={"csrf": _csrf(client, f"/edit/{name}"), "base": base,
                                                  "text": text, "action": "save", "summary": summary})
    assert response.status_code == 200, response.text


def _git(folder: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *arguments], check=True, capture_output=True, text=True).stdout


def _chat_20_to_10(rules: Path) -> tuple[str, str]:
    before = (rules / "chat.yaml").read_text()
    return before, before.replace("after_seconds: 20", "after_seconds: 10")


def test_each_save_is_listed_with_its_time_author_and_summary(rules: Path) -> None:
    client = _client(rules)
    _, edited = _chat_20_to_10(rules)
    _save(client, "chat.yaml", edited, summary="Pricing chat sooner")
    page = text_of(client.get("/history/chat.yaml").text)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d Mette Pricing chat sooner", page)
    assert "As it was before its first save in the console" in page


def test_check_ignores_the_history_folder(rules: Path) -> None:
    client = _client(rules)
    _, edited = _chat_20_to_10(rules)
    _save(client, "chat.yaml", edited)
    assert list((rules / ".history").rglob("*chat.yaml"))  # the kept copies, rule ids and all
    assert check_ruleset(rules, load_settings(CONFIG))[1] == []  # …never read as rules (no duplicate ids)


def test_an_unnamed_save_is_summarised_by_the_rules_it_changed(rules: Path) -> None:
    client = _client(rules)
    _, edited = _chat_20_to_10(rules)
    _save(client, "chat.yaml", edited)
    assert "chat.yaml: 1 line changed (pricing-chat)" in text_of(client.get("/history/chat.yaml").text)


def test_comparing_with_an_earlier_version_shows_the_changed_lines(rules: Path) -> None:
    client = _client(rules)
    _, edited = _chat_20_to_10(rules)
    _save(client, "chat.yaml", edited)
    html = client.get("/history/chat.yaml").text
    oldest = re.findall(r'compare=([^"#]+)#compare', html)[-1]
    compared = client.get("/history/chat.yaml", params={"compare": oldest}).text
    assert '<span class="removed">-         after_seconds: 20</span>' in compared
    assert '<span class="added">+         after_seconds: 10</span>' in compared


def test_restoring_an_earlier_version_is_one_click_and_is_itself_kept(rules: Path) -> None:
    client = _client(rules)
    before, edited = _chat_20_to_10(rules)
    _save(client, "chat.yaml", edited)
    html = client.get("/history/chat.yaml").text
    oldest = re.findall(r'name="version" value="([^"]+)"', html)[-1]
    response = client.post("/history/chat.yaml", data={"csrf": _csrf(client, "/history/chat.yaml"), "version": oldest})
    assert response.status_code == 200
    assert (rules / "chat.yaml").read_text() == before
    assert "restored the version of" in text_of(client.get("/history/chat.yaml").text)


def test_in_a_git_repository_a_save_is_a_commit_by_the_console_user(rules: Path) -> None:
    _git(rules, "init", "-q")
    _git(rules, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "add", ".")
    _git(rules, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "rules")
    client = _client(rules)
    _, edited = _chat_20_to_10(rules)
    _save(client, "chat.yaml", edited, summary="Pricing chat sooner")
    assert _git(rules, "log", "-1", "--format=%an|%s") == "Mette|Pricing chat sooner\n"
    assert _git(rules, "status", "--porcelain") == ""  # committed, and no history folder beside the rules
    assert "Mette" in text_of(client.get("/history/chat.yaml").text)


def test_a_failing_git_never_fails_the_save_and_the_console_says_so(rules: Path) -> None:
    _git(rules, "init", "-q")
    (rules / ".git" / "index.lock").write_text("")  # another git process holds the index
    client = _client(rules)
    _, edited = _chat_20_to_10(rules)
    html = client.get("/edit/chat.yaml").text
    base = re.search(r'name="base" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    response = client.post("/edit/chat.yaml", data={"csrf": _csrf(client, "/edit/chat.yaml"), "base": base,
                                                    "text": edited, "action": "save"})
    assert (rules / "chat.yaml").read_text() == edited
    assert "git could not record it" in text_of(response.text)
    assert (rules / ".history" / "log.jsonl").exists()


def test_a_save_through_the_token_is_kept_under_the_tokens_label(rules: Path) -> None:
    client = TestClient(console_app(rules, host="0.0.0.0", token="s3cret", token_label="Shop floor team"),
                        base_url="http://192.0.2.7:8001", headers={"Authorization": "Bearer s3cret"})
    _, edited = _chat_20_to_10(rules)
    _save(client, "chat.yaml", edited)
    assert "Shop floor team" in text_of(client.get("/history/chat.yaml").text)
