"""The example shop's layout and language on a laptop (1280×800) and a phone (390×844)."""

from __future__ import annotations

from typing import Any

import pytest

from .test_shop import log_in
from .test_shopper import PAGES

LOYALTY = '[data-smalldata-slot="banner:loyalty"]'


def _fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))


def _one_line(page: Any, selector: str) -> bool:
    """Every element matching ``selector`` (there are some) shows its text on one line."""
    assert page.locator(selector).count() > 0
    return bool(page.locator(selector).evaluate_all("""cells => cells.every(cell => {
        const range = document.createRange();
        range.selectNodeContents(cell);
        const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
        return tops.size === 1;
    })"""))


def test_the_loyalty_bar_sits_in_the_content_column(open_page: Any, shipped_shop: str) -> None:
    page = open_page()
    log_in(page, shipped_shop)  # Mette has 2,450 points
    page.locator(LOYALTY).wait_for(state="visible")
    bar = page.locator(LOYALTY).bounding_box()
    heading = page.locator("main h2").first.bounding_box()
    assert page.locator(f"main {LOYALTY}").count() == 1
    assert abs(bar["x"] - heading["x"]) < 1  # aligned with the page's content, not edge to edge
    assert bar["x"] + bar["width"] <= page.viewport_size["width"]


def test_the_basket_keeps_each_quantity_and_amount_on_one_line(open_page: Any, shop: str) -> None:
    page = open_page()
    for product in ("throw-cotton", "tealights", "matches"):  # long names beside 399,00 kr.
        page.goto(f"{shop}/products/{product}")
        page.click(".product button[type=submit]")
        page.wait_for_url(f"{shop}/basket")
    # the quantity ("1 ×") and the amount ("399,00 kr."), by column: each on one line
    assert _one_line(page, "table.basket tr:not(.total) td:nth-child(2)")
    assert _one_line(page, "table.basket td:nth-child(3)")
    assert _fits_the_screen(page)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_fits_the_screen(open_page: Any, shop: str, path: str) -> None:
    page = open_page()
    page.goto(f"{shop}{path}")
    assert _fits_the_screen(page)


@pytest.mark.parametrize(("locale", "lang", "basket"), [("da-DK", "da", "Kurv (0)"), ("en-GB", "en", "Basket (0)")])
def test_the_page_and_its_greeting_speak_the_browsers_language(open_page: Any, shipped_shop: str, locale: str,
                                                                lang: str, basket: str) -> None:
    page = open_page(locale)
    page.goto(shipped_shop)
    assert page.get_attribute("html", "lang") == lang
    assert page.inner_text(".basket-link") == basket
