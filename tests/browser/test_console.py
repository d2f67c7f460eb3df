"""The merchandiser's console in real Chromium, over a copy of the example shop's rules.

The running example shop is served beside it from the same copy, so a saved edit
is seen the way a merchandiser sees it: on the shop's own pages, without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smalldata.events import CallableSink
from smalldata.tools.demo import load_app, serve_in_thread
from tests.console.helpers import console_app, copy_rules, write_events

from .conftest import Clock

GREETING = '[data-smalldata-slot="greeting"]'
WEDNESDAY_MORNING = "2026-11-25T10:00"
NEW_RULE = """
  - id: console-hello
    description: Written in the console
    priority: 99
    when:
      page.path: {starts_with: /pricing}
    then:
      greeting:
        da: "Hej fra konsollen"
        en: "Hello from the console"
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return copy_rules(tmp_path / "rules")


@pytest.fixture
def console(rules: Path, tmp_path: Path) -> Iterator[str]:
    events = write_events(tmp_path / "events.jsonl", converted={"control": 10, "a": 12, "b": 30})
    with serve_in_thread(console_app(rules, events)) as url:
        yield url


def test_a_persona_shows_its_greeting_chat_invitation_and_a_trace_line_with_the_value(page: Any,
                                                                                      console: str) -> None:
    page.goto(f"{console}/try?at={WEDNESDAY_MORNING}")
    page.select_option("#persona", "vip")
    page.click("form.personas button[type=submit]")
    assert page.inner_text(".shopframe .greeting") == "Hej Anna, godt at se dig igen"
    bubble = page.locator(".shopframe .chatbubble")
    assert bubble.locator(".message").inner_text() == "Har du spørgsmål til priserne? Vi sidder klar til at hjælpe."
    assert bubble.locator(".meta").inner_text() == "after 20 s · department sales"
    row = page.locator("table.trace tr", has=page.locator("th", has_text="first-visit"))
    assert row.locator("td.detail").inner_text() == "visitor.returning is false (actual: true)"


def test_the_time_slider_shows_which_rules_are_on_at_a_time_of_day(page: Any, console: str) -> None:
    page.goto(f"{console}/try?url=/pricing&at={WEDNESDAY_MORNING}")
    assert "pricing-chat" in page.inner_text("#on-now")
    page.fill("#minutes", "1260")  # 21:00, after closing
    assert page.inner_text("#minutes-out") == "21:00"
    assert "pricing-chat" not in page.inner_text("#on-now")
    assert page.get_attribute('tr[data-rule="pricing-chat"]', "class") in (None, "")


def test_an_edit_with_an_error_is_shown_at_its_line_and_not_saved(page: Any, console: str, rules: Path) -> None:
    before = (rules / "greetings.yaml").read_text()
    broken = before.replace("when: {visitor.returning: false}", "when: {vistor.returning: false}")
    line = broken.splitlines().index("    when: {vistor.returning: false}") + 1
    page.goto(f"{console}/edit/greetings.yaml")
    page.fill("#text", broken)
    problem = page.locator("#check-result .problem.error")
    problem.wait_for()
    assert problem.locator(".where").inner_text() == f"greetings.yaml:{line}:12"
    assert "unknown signal 'vistor.returning' — did you mean 'visitor.returning'?" in problem.inner_text()
    assert page.get_attribute(f"#gutter span:nth-child({line})", "class") == "error"
    page.click("button[value=save]")
    assert "Not saved" in page.inner_text("#outcome")
    assert (rules / "greetings.yaml").read_text() == before
    page.click("#check-result button.fix")  # the suggestion, applied
    page.locator("#check-result .verdict.good").wait_for()
    assert page.input_value("#text") == before


def test_without_javascript_the_editor_still_checks_and_refuses_an_error(browser: Any, console: str,
                                                                         rules: Path) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    before = (rules / "chat.yaml").read_text()
    page.goto(f"{console}/edit/chat.yaml")
    page.fill("#text", before.replace("after_seconds: 20", "after_seconds: soon"))
    page.click("button[value=save]")
    assert "Not saved" in page.inner_text("#outcome")
    assert "chat.yaml:10:24" in page.inner_text("#check-result")
    assert (rules / "chat.yaml").read_text() == before
    context.close()


def test_a_saved_edit_is_served_by_the_running_shop_without_a_restart(
    page: Any, context: Any, console: str, rules: Path, clock: Clock, events: list[dict[str, Any]]
) -> None:
    with serve_in_thread(load_app(rules=rules, clock=clock, events=CallableSink(events.append))) as shop:
        page.goto(f"{shop}/pricing")
        page.wait_for_selector(f"{GREETING}:has-text('Welcome to Nordisk Hjem')")
        editor = context.new_page()
        editor.goto(f"{console}/edit/greetings.yaml")
        text = editor.input_value("#text")
        editor.fill("#text", text.replace("\ntests:", NEW_RULE + "\ntests:", 1))
        editor.click("button[value=save]")
        assert "Saved" in editor.inner_text("#outcome")
        assert "console-hello" in (rules / "greetings.yaml").read_text()
        deadline = time.monotonic() + 10
        while True:  # the shop looks at its rule files at most once a second and reloads in the background
            page.goto(f"{shop}/pricing")
            page.wait_for_selector(f"{GREETING}:not([hidden])")
            if page.inner_text(GREETING) == "Hello from the console" or time.monotonic() > deadline:
                break
            page.wait_for_timeout(200)
        assert page.inner_text(GREETING) == "Hello from the console"


def test_a_test_run_shows_a_failing_tests_difference(page: Any, console: str, rules: Path) -> None:
    page.goto(f"{console}/tests")
    assert "35 passed" in page.inner_text("main")
    greetings = rules / "greetings.yaml"
    greetings.write_text(greetings.read_text().replace('en: "Welcome back!"', 'en: "Welcome home!"'))
    page.click("text=Run the tests again")
    failed = page.locator("article.test.failed")
    assert failed.locator("h3").inner_text().endswith("a returning visitor on a weekday morning gets a warm welcome")
    assert failed.locator(".differences").inner_text() == "greeting: expected 'Welcome back!', got 'Welcome home!'"


def test_the_experiment_page_shows_a_chart(page: Any, console: str) -> None:
    page.goto(f"{console}/experiments")
    chart = page.locator("svg.chart")
    chart.wait_for()
    assert chart.bounding_box()["width"] > 300
    assert chart.locator("circle.rate").count() == 3
    assert chart.locator("title").text_content().startswith("Conversion rate by variant in winter-hero")
    assert "significant: better" in page.inner_text("table.figures")
