"""The console's daily tools in real Chromium: the editor's problem links, the toggle, search and history,
on a laptop (1280×800) and a phone (390×844)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smalldata.tools.demo import serve_in_thread
from tests.console.helpers import console_app, copy_rules

SUMMER = """# Kept for June
rules:
  - id: summer-sale  # the outlet page only
    description: Summer sale greeting
    when: {page.path: /summer-sale}
    then: {greeting: "Summer sale!"}
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = copy_rules(tmp_path / "rules")
    (folder / "summer.yaml").write_text(SUMMER)
    return folder


@pytest.fixture
def console(rules: Path) -> Iterator[str]:
    with serve_in_thread(console_app(rules, author="Mette")) as url:
        yield url


def _fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))


def _line_in_view(page: Any, line: int) -> bool:
    return bool(page.evaluate("""(line) => {
        const text = document.getElementById('text');
        const style = getComputedStyle(text);
        const y = text.getBoundingClientRect().top + parseFloat(style.paddingTop)
            + (line - 1) * parseFloat(style.lineHeight);
        return y >= 0 && y <= window.innerHeight;
    }""", line))


def test_clicking_a_problem_above_the_view_scrolls_up_to_its_line(page: Any, console: str, rules: Path) -> None:
    text = (rules / "greetings.yaml").read_text()
    broken = text.replace("when: {visitor.returning: false}", "when: {vistor.returning: false}")
    line = broken.splitlines().index("    when: {vistor.returning: false}") + 1
    (rules / "greetings.yaml").write_text(broken)
    last = len(broken.splitlines())
    page.goto(f"{console}/edit/greetings.yaml?line={last}&col=1")  # the end of the file in view
    assert not _line_in_view(page, line)
    page.click(f'#check-result .problem.error a.where:has-text("greetings.yaml:{line}:")')
    assert _line_in_view(page, line)


def test_the_rules_page_switches_a_rule_off_and_finds_rules_on_every_screen(
    open_page: Any, console: str, rules: Path
) -> None:
    page = open_page()
    page.goto(f"{console}/")
    assert _fits_the_screen(page)
    page.fill("#q", "summer")
    page.click("form.search button[type=submit]")
    assert page.locator("article.rule").count() == 1
    page.click('#rule-summer-sale form.toggle button')
    page.locator("#rule-summer-sale .badge.off").wait_for(state="visible")  # the page after the save
    assert "enabled: false" in (rules / "summer.yaml").read_text()
    assert "# the outlet page only" in (rules / "summer.yaml").read_text()
    assert _fits_the_screen(page)


def test_the_history_page_restores_an_earlier_version_on_every_screen(
    open_page: Any, console: str, rules: Path
) -> None:
    page = open_page()
    page.goto(f"{console}/")
    page.click('#rule-summer-sale form.toggle button')  # a save, kept in the history
    page.locator("#rule-summer-sale .badge.off").wait_for(state="visible")
    page.goto(f"{console}/history/summer.yaml")
    assert page.locator("table.history tbody tr").count() == 2
    assert "Mette" in page.inner_text("table.history")
    assert _fits_the_screen(page)
    page.locator("table.history tbody tr").last.locator("a", has_text="Compare").click()
    assert page.locator("pre.diff .added").first.inner_text().strip() == "+     enabled: false"
    page.locator("table.history tbody tr").last.locator("button", has_text="Restore").click()
    assert (rules / "summer.yaml").read_text() == SUMMER
