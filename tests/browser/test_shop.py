"""What a shopper sees in a real browser: greetings, prefilled checkout, chat invitations, recommendations."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

from .conftest import OPEN, Clock

GREETING = '[data-smalldata-slot="greeting"]'
BUBBLE = "#smalldata-chat"


def log_in(page: Any, shop: str, first_name: str = "") -> None:
    page.goto(f"{shop}/login")
    page.select_option("select[name=customer]", "mette")
    if first_name:
        page.fill("input[name=first_name]", first_name)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{shop}/")


def test_returning_visitor_sees_the_welcome_back_greeting(page: Any, shipped_shop: str, clock: Clock) -> None:
    page.goto(shipped_shop)
    assert page.inner_text(GREETING) == "Welcome to Nordisk Hjem"
    clock.now = OPEN + timedelta(hours=1)  # a new visit begins after 30 idle minutes
    page.goto(shipped_shop)
    page.wait_for_selector(f"{GREETING}:has-text('Welcome back!')")


def test_logged_in_checkout_is_prefilled_but_typed_values_are_kept(page: Any, shop: str) -> None:
    log_in(page, shop)
    held: list[Any] = []
    page.route("**/_smalldata/client.js*", lambda route: held.append(route))  # hold the client back while we type
    page.goto(f"{shop}/checkout", wait_until="commit")
    page.fill("input[name=email]", "typed@example.org")
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    page.wait_for_selector("input[name=name][data-smalldata-prefilled]")
    assert page.input_value("input[name=name]") == "Mette Hansen"
    assert page.input_value("input[name=phone]") == "+45 20 30 40 50"
    assert page.input_value("input[name=email]") == "typed@example.org"
    assert page.input_value("input[name=address]") == ""


def test_pricing_chat_appears_after_its_dwell_time_while_open(page: Any, shop: str) -> None:
    page.goto(f"{shop}/pricing")
    started = time.monotonic()
    page.wait_for_selector(BUBBLE, state="visible")
    assert time.monotonic() - started >= 0.8  # after_seconds: 1, not at once
    assert "Questions about our prices?" in page.inner_text(BUBBLE)


def test_pricing_chat_does_not_appear_when_closed(page: Any, shop: str, clock: Clock) -> None:
    clock.now = OPEN.replace(hour=21)
    page.goto(f"{shop}/pricing")
    page.wait_for_timeout(1800)
    assert page.locator(BUBBLE).count() == 0


def test_dismissed_chat_does_not_come_back(context: Any, page: Any, shop: str) -> None:
    page.goto(f"{shop}/pricing")
    page.click(f"{BUBBLE} .smalldata-chat-dismiss")
    assert page.locator(BUBBLE).count() == 0
    page.wait_for_timeout(300)  # let the dismissal beacon reach the server
    page.reload()
    other_tab = context.new_page()  # no sessionStorage there: only the server remembers
    other_tab.goto(f"{shop}/pricing")
    page.wait_for_timeout(1800)
    assert page.locator(BUBBLE).count() == 0
    assert other_tab.locator(BUBBLE).count() == 0


def test_shop_widget_can_take_over_the_chat_invitation(page: Any, shop: str) -> None:
    page.add_init_script(
        "document.addEventListener('smalldata:chat', e => { e.preventDefault(); window.__chat = e.detail; })"
    )
    page.goto(f"{shop}/pricing")
    page.wait_for_function("() => window.__chat !== undefined")
    assert page.evaluate("window.__chat.rule") == "pricing-chat"
    assert page.locator(BUBBLE).count() == 0


def test_recommendations_render_from_the_template(page: Any, shop: str) -> None:
    page.goto(shop)
    cards = page.locator('[data-smalldata-slot="recommend:recommendations"] li.card')
    cards.first.wait_for()
    assert cards.count() == 4
    assert page.inner_text('[data-smalldata-slot="recommend:recommendations"] h2') == "New arrivals"
    first = cards.first
    assert first.locator("a.name").inner_text()
    assert first.locator("a.name").get_attribute("href").startswith("/products/")
    assert re.fullmatch(r"\d+,\d\d kr\.", first.locator(".price").inner_text())  # as the shop writes prices


def test_a_greeting_with_markup_in_the_name_stays_text(page: Any, shop: str) -> None:
    evil = '<img src=x onerror="window.__xss=1">'
    log_in(page, shop, first_name=evil)
    page.wait_for_selector(f"{GREETING}:not([hidden])")
    page.wait_for_function("() => window.smalldata !== undefined")  # the client has run too
    assert page.inner_text(GREETING) == f"Hi {evil}, good to see you again"
    assert page.locator(f"{GREETING} img").count() == 0
    assert page.evaluate("window.__xss") is None
