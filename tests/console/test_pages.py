"""The console's pages over HTTP: what each shows for the example shop's rules (a copy of them)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from smalldata.preview.links import preview_keys, read_preview_token
from smalldata.settings import load_settings
from smalldata.tools.console.texts import texts
from tests.console.helpers import CONFIG, LOOPBACK, console_app, copy_rules, write_events

WEDNESDAY_MORNING = "2026-11-25T10:00"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return copy_rules(tmp_path / "rules")


@pytest.fixture
def client(rules: Path, tmp_path: Path) -> TestClient:
    events = write_events(tmp_path / "events.jsonl", converted={"control": 10, "a": 12, "b": 30})
    return TestClient(console_app(rules, events), base_url=LOOPBACK)


def text_of(html: str) -> str:
    """The page's words without tags, spaces folded (what a reader sees, roughly)."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_interface_texts_exist_in_danish_and_english() -> None:
    assert texts("da").keys() == texts("en").keys()
    for key, english in texts("en").items():
        assert set(re.findall(r"\{(\w+)\}", english)) == set(re.findall(r"\{(\w+)\}", texts("da")[key])), key


def test_the_overview_shows_each_rule_in_the_words_try_explain_uses(client: TestClient) -> None:
    page = text_of(client.get("/").text)
    assert "pricing-chat" in page
    assert "page.path starts with '/pricing'" in page  # the condition as a failed trace line names it
    assert "after 20s · [sales] · only while the shop is open" in page
    assert "at most 1× per day" in page
    assert "runs from 2026-11-01 00:00 until 2027-01-07 00:00" in page  # winter-banner-test's schedule
    assert "variant a (45 %)" in page and "control (10 %)" in page


def test_the_overview_by_slot_lists_the_rules_in_the_order_they_are_tried(client: TestClient) -> None:
    html = client.get("/?group=slot").text
    greeting = html[html.index(">greeting</h2>"):html.index("</section>", html.index(">greeting</h2>"))]
    order = re.findall(r'id="rule-([a-z0-9-]+)"', greeting)
    assert order == ["birthday-greeting", "named-welcome", "evening-welcome-back", "weekend-welcome-back",
                     "welcome-back", "first-visit"]


def test_the_overview_shows_every_check_problem_at_its_line(client: TestClient, rules: Path) -> None:
    chat = rules / "chat.yaml"
    chat.write_text(chat.read_text().replace("page.path: {starts_with: /faq}", "page.pth: {starts_with: /faq}"))
    html = client.get("/").text
    assert "chat.yaml:23:7" in html
    assert "unknown signal &#39;page.pth&#39; — did you mean &#39;page.path&#39;?" in html
    assert 'href="/edit/chat.yaml?line=23&amp;col=7#text"' in html
    assert "      page.pth: {starts_with: /faq}" in html  # the line itself, under the message


def test_a_persona_on_the_try_page_gets_its_greeting_chat_and_trace(client: TestClient) -> None:
    page = text_of(client.get("/try", params={"persona": "vip", "at": WEDNESDAY_MORNING}).text)
    assert "Hej Anna, godt at se dig igen" in page
    assert "Har du spørgsmål til priserne? Vi sidder klar til at hjælpe." in page
    assert "after 20 s · department sales" in page
    assert "first-visit ✗ failed visitor.returning is false (actual: true)" in page


def test_the_try_page_says_which_rules_are_on_through_the_day(client: TestClient) -> None:
    html = client.get("/try", params={"url": "/pricing", "at": WEDNESDAY_MORNING}).text
    row = re.search(r'<tr data-rule="pricing-chat" data-steps="([-ms]+)"', html)
    assert row is not None and row.group(1) == "-" * 36 + "m" * 32 + "-" * 28  # open 09:00-17:00 on Wednesdays
    assert "on 09:00–17:00" in html


def test_the_slider_asks_for_another_time_of_the_same_day(client: TestClient) -> None:
    page = text_of(client.get("/try", params={"url": "/pricing", "at": WEDNESDAY_MORNING, "minutes": "1260"}).text)
    assert "2026-11-25 21:00" in page
    assert "pricing-chat ⏾ shop closed" in page


def test_a_rule_the_visitor_has_had_as_often_as_its_cap_allows_is_capped(client: TestClient) -> None:
    page = text_of(client.get("/try", params={"url": "/pricing", "at": WEDNESDAY_MORNING,
                                              "caps": "pricing-chat=1"}).text)
    assert "pricing-chat ⌀ capped already shown 1× this day" in page
    response = client.get("/try", params={"caps": "pricing-caht=1"})
    assert response.status_code == 400
    assert "caps: unknown rule 'pricing-caht' — did you mean 'pricing-chat'?" in text_of(response.text)


def test_a_signal_that_cannot_be_set_is_said_beside_the_form(client: TestClient) -> None:
    response = client.get("/try", params={"sets": "vistor.returning=true\nvisitor.returning=yes"})
    assert response.status_code == 400
    page = text_of(response.text)
    assert "unknown signal 'vistor.returning' — did you mean 'visitor.returning'?" in page
    assert "visitor.returning is true or false, not 'yes'" in page


def test_recommendation_cards_come_from_the_catalogue(client: TestClient) -> None:
    html = client.get("/try", params={"url": "/", "at": WEDNESDAY_MORNING}).text
    cards = re.findall(r'<li class="card"><span class="name">([^<]+)</span>', html)
    assert len(cards) == 4  # new-arrivals ×4


def test_the_preview_link_carries_the_try_pages_visitor_and_moment(client: TestClient) -> None:
    html = client.get("/preview", params={"url": "/pricing", "at": WEDNESDAY_MORNING, "language": "en",
                                          "sets": "visitor.returning=true", "variant.winter-hero": "b"}).text
    link = re.search(r'<input id="link" class="link" value="([^"]+)"', html)
    assert link is not None
    url = urlsplit(link.group(1).replace("&amp;", "&"))
    assert (url.scheme, url.netloc, url.path) == ("http", "127.0.0.1:8000", "/pricing")
    settings = load_settings(CONFIG)
    token = parse_qs(url.query)["sd_preview"][0]
    preview = read_preview_token(token, preview_keys(settings.preview, settings.state), datetime.now(UTC))
    assert preview is not None
    assert preview.overrides == {"visitor.returning": True, "page.language": "en"}
    assert preview.variants == {"winter-hero": "b"}
    assert preview.at is not None and preview.at.isoformat() == "2026-11-25T10:00:00+01:00"


def test_the_tests_page_shows_a_failing_tests_difference(client: TestClient, rules: Path) -> None:
    greetings = rules / "greetings.yaml"
    greetings.write_text(greetings.read_text().replace('en: "Welcome back!"', 'en: "Welcome home!"'))
    page = text_of(client.get("/tests").text)
    assert "1 failed, 34 passed" in page
    assert ("greeting: expected 'Welcome back!', got 'Welcome home!'") in page


def test_the_experiments_page_has_the_reports_figures_a_chart_and_the_verdict(client: TestClient) -> None:
    html = client.get("/experiments").text
    assert html.count('<svg class="chart" role="img"') == 1
    page = text_of(html)
    assert "b: 15 % (10.7 %–20.6 %) of 200 visitors converted (30) against 5 % for control" in page
    assert "significant: better" in page
    assert "a: 6 % (3.5 %–10.2 %) of 200 visitors converted (12) against 5 % for control, +20.0 %" in page
    assert "not yet significant" in page
    assert "easter-banner" in page  # in the rules, no exposures yet


def test_the_editor_refuses_to_save_an_error_and_shows_it_at_its_line(client: TestClient, rules: Path) -> None:
    before = (rules / "chat.yaml").read_text()
    html = client.get("/edit/chat.yaml").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    base = re.search(r'name="base" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    edited = before.replace("department: sales\n", "departmnet: sales\n", 1)
    response = client.post("/edit/chat.yaml", data={"csrf": csrf, "base": base, "text": edited, "action": "save"})
    assert response.status_code == 422
    assert "chat.yaml:14:9" in response.text and "departmnet" in response.text
    assert '<span class="error">14</span>' in response.text  # the line number, marked
    assert (rules / "chat.yaml").read_text() == before


def test_the_live_check_answers_with_the_problems_and_their_lines(client: TestClient, rules: Path) -> None:
    csrf = re.search(r'data-csrf="([^"]+)"', client.get("/edit/greetings.yaml").text).group(1)  # type: ignore[union-attr]
    source = (rules / "greetings.yaml").read_text()
    broken = source.replace("when: {visitor.returning: false}", "when: {vistor.returning: false}")
    answer = client.post("/check", json={"name": "greetings.yaml", "text": broken}, headers={"X-CSRF-Token": csrf})
    data = answer.json()
    assert data["errors"] == 1
    line = broken.splitlines().index("    when: {vistor.returning: false}") + 1
    assert data["marks"] == [{"line": line, "severity": "error"}]
    assert "Use &#39;visitor.returning&#39;" in data["html"]  # the suggestion, offered as a fix
    assert (rules / "greetings.yaml").read_text() == source  # a check writes nothing


def test_the_interface_speaks_danish_when_asked(client: TestClient) -> None:
    assert "Prøv en besøgende" in client.get("/try?lang=da").text
    assert "Prøv en besøgende" in client.get("/try").text  # remembered
    fresh = TestClient(client.app, base_url=LOOPBACK)
    assert "Regler" in fresh.get("/", headers={"Accept-Language": "da-DK,da;q=0.9"}).text
    assert "Rules" in fresh.get("/", headers={"Accept-Language": "fr, en;q=0.5"}).text
