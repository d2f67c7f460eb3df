"""Signed preview links in a real browser, and recommendations from the shop's catalogue file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smalldata.catalogue import load_file
from smalldata.preview.links import make_preview_url, preview_keys
from smalldata.settings import load_settings

from .conftest import OPEN, Clock
from .test_shop import log_in

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_settings(ROOT / "smalldata.yaml")  # the shop's settings, so the shop's preview keys
KEY = preview_keys(SETTINGS.preview, SETTINGS.state)[0]
HERO = '[data-smalldata-slot="banner:hero"]'
GREETING = '[data-smalldata-slot="greeting"]'
BUBBLE = "#smalldata-chat"
WINTER_HERO = {
    "a": "Winter sale: up to 30% off throws and cushions",
    "b": "Get your home ready for Christmas – free gift wrapping",
}


def preview(url: str, clock: Clock, **options: Any) -> str:
    return make_preview_url(
        url,
        sets=options.get("sets", {}),
        at=options.get("at"),
        variants=options.get("variants", {}),
        secret=KEY,
        ttl_seconds=3600,
        now=clock.now,
    )


def tampered(url: str) -> str:
    return url[:-1] + ("A" if url[-1] != "A" else "B")


def test_a_preview_link_shows_the_forced_variant(
    page: Any, shipped_shop: str, clock: Clock, events: list[dict[str, Any]]
) -> None:
    for variant, text in WINTER_HERO.items():
        response = page.goto(preview(f"{shipped_shop}/", clock, variants={"winter-hero": variant}))
        assert response.headers["cache-control"] == "private, no-store"
        page.wait_for_function("() => window.smalldata !== undefined")
        assert page.inner_text(HERO) == text
    assert {(e["variant"], e["forced"]) for e in events if e["type"] == "exposure"} == {("a", True), ("b", True)}


def test_a_preview_link_shows_the_page_at_its_time(page: Any, shop: str, clock: Clock) -> None:
    clock.now = OPEN.replace(hour=21)  # closed: no pricing chat for real visitors
    page.goto(preview(f"{shop}/pricing", clock, at=OPEN))
    page.wait_for_selector(BUBBLE, state="visible")
    assert "Questions about our prices?" in page.inner_text(BUBBLE)


def test_a_preview_link_shows_the_imagined_visitor(page: Any, shipped_shop: str, clock: Clock) -> None:
    sets = {"user.logged_in": True, "user.first_name": "Astrid"}
    page.goto(preview(f"{shipped_shop}/", clock, sets=sets))
    page.wait_for_selector(f"{GREETING}:has-text('Hi Astrid, good to see you again')")


def test_a_tampered_preview_link_shows_the_normal_page(page: Any, shipped_shop: str, clock: Clock) -> None:
    sets = {"user.logged_in": True, "user.first_name": "Astrid"}
    response = page.goto(tampered(preview(f"{shipped_shop}/", clock, sets=sets)))
    assert response.headers["cache-control"] == "private"
    page.wait_for_function("() => window.smalldata !== undefined")
    assert page.inner_text(GREETING) == "Welcome to Nordisk Hjem"


def test_a_tampered_preview_link_does_not_open_the_shop_out_of_hours(page: Any, shop: str, clock: Clock) -> None:
    clock.now = OPEN.replace(hour=21)
    page.goto(tampered(preview(f"{shop}/pricing", clock, at=OPEN)))
    page.wait_for_timeout(1800)
    assert page.locator(BUBBLE).count() == 0


def test_personal_picks_come_from_the_catalogue_file(page: Any, shipped_shop: str) -> None:
    catalogue = load_file(ROOT / "examples" / "shop" / "data" / "products.json").products
    names = {p.name: p for p in catalogue}
    log_in(page, shipped_shop)  # Mette bought from tableware and coffee
    slot = page.locator('[data-smalldata-slot="recommend:recommendations"]')
    slot.locator("li.card").first.wait_for()
    assert slot.locator("h2").inner_text() == "Picked for you"
    shown = [names[name] for name in slot.locator("li.card a.name").all_inner_texts()]
    assert len(shown) == 4
    assert all(product.categories[0] in ("tableware", "coffee") for product in shown)
    assert not {"mug-hygge", "coffee-house"} & {product.id for product in shown}  # already bought
    first = slot.locator("li.card").first
    assert first.locator("a.name").get_attribute("href") == shown[0].url
    assert first.locator("img").get_attribute("src") == shown[0].image
