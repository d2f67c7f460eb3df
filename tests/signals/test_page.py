"""page.*: the request itself."""

from __future__ import annotations

import pytest

from .helpers import request, settings

PATTERNS = settings(
    page={
        "product": ["/products/{product}", "/shop/{category}/{product}"],
        "category": "/category/{category}",
    },
    languages=["da", "en", "de"],
)


def test_path_url_and_query() -> None:
    signals = request("https://shop.example/sko/?color=red&size=42&color=blue")
    assert signals.get("page.path") == "/sko/"
    assert signals.get("page.url") == "https://shop.example/sko/?color=red&size=42&color=blue"
    assert signals.get("page.query") == {"color": "red", "size": "42"}  # first value per key


def test_query_values_are_percent_decoded_and_bad_bytes_replaced() -> None:
    signals = request("/search?q=r%C3%B8d+kjole&bad=%FF&empty=")
    assert signals.get("page.query") == {"q": "rød kjole", "bad": "\ufffd", "empty": ""}


def test_query_is_bounded() -> None:
    query = "&".join(f"k{i}={'x' * 1000}" for i in range(500))
    params = request(f"/?{query}").get("page.query")
    assert len(params) <= 64
    assert all(len(value) <= 512 for value in params.values())


@pytest.mark.parametrize(
    ("path", "category", "product"),
    [
        ("/products/sku-123", None, "sku-123"),
        ("/products/sku-123/", None, "sku-123"),
        ("/shop/shoes/sku-9", "shoes", "sku-9"),
        ("/category/shoes", "shoes", None),
        ("/category/shoes/extra", None, None),
        ("/products/", None, None),
        ("/about", None, None),
    ],
)
def test_category_and_product_come_from_path_patterns(path: str, category: str | None, product: str | None) -> None:
    signals = request(path, config=PATTERNS)
    assert (signals.get("page.category"), signals.get("page.product")) == (category, product)


def test_no_patterns_means_no_category_or_product() -> None:
    signals = request("/products/sku-123")
    assert signals.get("page.product") is None
    assert signals.get("page.category") is None


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("da-DK,da;q=0.9,en;q=0.8", "da"),
        ("en-US,en;q=0.9,da;q=0.95", "en"),
        ("fr-FR,fr;q=0.9,de;q=0.5", "de"),  # the best one the shop offers
        ("da;q=0.2, en;q=0.7", "en"),
        ("DE-at", "de"),
        ("fr, es", None),  # nothing the shop offers: unknown, no invented default
        ("en;q=0, da;q=0.1", "da"),  # q=0 means "not this"
        ("en;q=abc, da;q=0.1", "da"),  # a malformed q-value is skipped
        ("*", None),
        ("", None),
        (";;;,,,", None),
    ],
)
def test_language_from_accept_language_with_q_values(header: str, language: str | None) -> None:
    signals = request("/", headers={"accept-language": header}, config=PATTERNS)
    assert signals.get("page.language") == language


def test_missing_accept_language_is_unknown() -> None:
    assert request("/").get("page.language") is None


def test_referrer() -> None:
    assert request("/", headers={"referer": "https://google.com/"}).get("page.referrer") == "https://google.com/"
    assert request("/").get("page.referrer") is None


def test_host_header_missing_falls_back_to_the_server() -> None:
    signals = request("/x")
    signals.request.scope["headers"] = []
    assert signals.get("page.url") == "http://localhost/x"


def test_other_page_settings_for_the_same_path_get_their_own_answer() -> None:
    shoes = settings(page={"category": "/c/{category}"})
    products = settings(page={"product": "/c/{product}"})
    for _ in range(2):  # the second round is answered from the path memo
        assert request("/c/shoes", config=shoes).get("page.category") == "shoes"
        assert request("/c/shoes", config=products).get("page.category") is None
        assert request("/c/shoes", config=products).get("page.product") == "shoes"
