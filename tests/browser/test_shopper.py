"""The shopper's side on a laptop and on a phone: the invitation's words, prices, picks and layout.

Every test here runs once per screen of ``SCREENS`` (``[desktop]`` and ``[phone]``).
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import OPEN, SCREENS, Clock
from .test_shop import BUBBLE, log_in

CARDS = '[data-smalldata-slot="recommend:recommendations"] li.card'
PAGES = ["/", "/category/coffee", "/products/mug-hygge", "/basket", "/pricing", "/faq", "/stores", "/checkout",
         "/login"]


def exit_intent(page: Any) -> None:
    """The pointer leaves the window through its top edge."""
    page.evaluate("document.dispatchEvent(new MouseEvent('mouseout', {clientY: -1, bubbles: true}))")


@pytest.mark.parametrize(
    ("locale", "language", "message", "button", "dismiss"),
    [
        pytest.param("da-DK", "da", "Har du spørgsmål til priserne?", "Chat med os", "Luk", id="Danish"),
        pytest.param("en-GB", "en", "Questions about our prices?", "Chat with us", "Dismiss", id="English"),
    ],
)
def test_the_invitation_speaks_the_language_of_its_message(open_page: Any, shop: str, locale: str, language: str,
                                                           message: str, button: str, dismiss: str) -> None:
    page = open_page(locale)
    page.goto(f"{shop}/pricing")
    page.wait_for_selector(BUBBLE, state="visible")
    assert page.get_attribute(BUBBLE, "lang") == language
    assert page.inner_text(f"{BUBBLE} .smalldata-chat-message").startswith(message)
    assert page.inner_text(f"{BUBBLE} .smalldata-chat-accept") == button
    assert page.get_attribute(f"{BUBBLE} .smalldata-chat-dismiss", "aria-label") == dismiss
    assert page.locator(f"{BUBBLE} [aria-label]").count() == 1  # the accept button is named by its own text


def test_outside_opening_hours_the_invitation_offers_contact_in_its_language(open_page: Any, shipped_shop: str,
                                                                              clock: Clock) -> None:
    clock.now = OPEN.replace(hour=21)
    page = open_page("da-DK")
    page.goto(f"{shipped_shop}/faq")
    page.wait_for_function("() => window.smalldata !== undefined")
    exit_intent(page)
    page.wait_for_selector(BUBBLE, state="visible")
    assert page.inner_text(f"{BUBBLE} .smalldata-chat-message").startswith("Vi har lukket lige nu.")
    assert page.inner_text(f"{BUBBLE} .smalldata-chat-accept") == "Skriv til os"  # the shop's word, smalldata.yaml


def test_recommended_prices_read_as_the_shop_writes_them(open_page: Any, shop: str) -> None:
    page = open_page()
    page.goto(shop)
    page.locator(CARDS).first.wait_for()
    card_prices = page.locator(f"{CARDS} .price").all_inner_texts()
    links = page.locator(f"{CARDS} a.name").evaluate_all("links => links.map(a => a.href)")
    assert len(card_prices) == 4 and all(price.endswith(",00 kr.") for price in card_prices)
    page.goto(links[0])
    assert page.inner_text(".product .price") == card_prices[0]  # e.g. 549,00 kr. on both


def test_personal_picks_leave_out_what_is_in_the_basket(open_page: Any, shipped_shop: str) -> None:
    page = open_page()
    log_in(page, shipped_shop)
    page.locator(CARDS).first.wait_for()
    picked = page.locator(f"{CARDS} a.name").first.get_attribute("href")
    page.goto(f"{shipped_shop}{picked}")
    page.click(".product button[type=submit]")
    page.wait_for_url(f"{shipped_shop}/basket")
    page.goto(shipped_shop)
    page.locator(CARDS).first.wait_for()
    shown = page.locator(f"{CARDS} a.name").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert len(shown) == 4 and picked not in shown


def test_no_page_scrolls_sideways(open_page: Any, shop: str, screen: str) -> None:
    page = open_page()
    width = SCREENS[screen]["viewport"]["width"]
    for path in PAGES:
        page.goto(f"{shop}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path


def test_the_invitation_is_wholly_on_screen(open_page: Any, shop: str, screen: str) -> None:
    page = open_page()
    page.goto(f"{shop}/pricing")
    page.wait_for_selector(BUBBLE, state="visible")
    box = page.locator(BUBBLE).bounding_box()
    size = SCREENS[screen]["viewport"]
    assert box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.click(f"{BUBBLE} .smalldata-chat-accept")  # reachable: nothing covers it
    assert page.locator(BUBBLE).count() == 0
