"""The example shop speaks one language per page: the personalisation's (Danish or English), said in <html lang>."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from examples.shop.words import DANISH
from smalldata.tools.demo import load_app
from tests.example_apps.test_shop import WEDNESDAY_10

TEMPLATES = Path(__file__).resolve().parents[2] / "examples" / "shop" / "templates"


@pytest.fixture
def client() -> Any:
    with TestClient(load_app(clock=lambda: WEDNESDAY_10)) as client:
        yield client


def _greeting(html: str) -> str:
    found = re.search(r'data-smalldata-slot="greeting"[^>]*>(.*?)</p>', html)
    return found.group(1) if found else ""


@pytest.mark.parametrize(
    ("accept", "lang", "words", "greeting"),
    [
        ("da-DK,da;q=0.9", "da", ["Din kurv", "Læg i kurven", "Butikker"], "Velkommen til Nordisk Hjem"),
        ("en-GB,en;q=0.9", "en", ["Your basket", "Add to basket", "Stores"], "Welcome to Nordisk Hjem"),
        (None, "da", ["Din kurv", "Læg i kurven", "Butikker"], "Velkommen til Nordisk Hjem"),
    ],
)
def test_a_page_is_in_the_personalisations_language(client: Any, accept: str | None, lang: str,
                                                    words: list[str], greeting: str) -> None:
    headers = {"accept-language": accept} if accept else {}
    home = client.get("/", headers=headers).text
    basket = client.get("/basket", headers=headers).text
    assert f'<html lang="{lang}">' in home
    assert greeting in _greeting(home)
    assert words[1] in home and words[2] in home
    assert words[0] in basket


def test_every_shop_word_in_the_templates_has_a_danish_version() -> None:
    written = {text.replace('\\"', '"') for path in TEMPLATES.glob("*.html")
               for text in re.findall(r'_\("((?:[^"\\]|\\.)*)"', path.read_text(encoding="utf-8"))}
    assert written - DANISH.keys() == set()


def test_the_favicon_is_served(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
