"""``catalogue.path`` in the settings gives recommendation slots their products, with no code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import respx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from smalldata.app import Overrides
from smalldata.decision import Recommendation
from smalldata.delivery.page import Recommender
from smalldata.events import NullSink
from smalldata.foundation.problems import ProblemsError
from smalldata.middleware import SmallData
from smalldata.signals.base import Signals

RULES = """
rules:
  - id: product-complements
    when: {page.product: {exists: true}}
    then:
      recommend: {strategy: complements, limit: 3, title: "Goes well with"}
"""

PRODUCTS = """
- {id: mug, name: Mug, price: 99, categories: [tableware], related: [saucer, spoon, candle]}
- {id: saucer, name: Saucer, price: 49, categories: [tableware]}
- {id: spoon, name: Spoon, price: 19, categories: [tableware], in_stock: false}
- {id: candle, name: Candle, price: 59, categories: [lighting]}
"""

SETTINGS = """
page: {product: "/products/{product}"}
catalogue: {path: data/products.yaml, currency: DKK, check_seconds: 0}
"""


async def page(request: Request) -> Response:
    return HTMLResponse("<html><body><h1>Shop</h1></body></html>")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A shop folder: settings, rules and a catalogue file named relative to the settings."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "products.yaml").write_text(PRODUCTS, encoding="utf-8")
    (tmp_path / "smalldata.yaml").write_text(SETTINGS, encoding="utf-8")
    return tmp_path


def make_client(site: Path, recommender: Recommender | None = None) -> TestClient:
    app = Starlette(routes=[Route("/{path:path}", page)])
    app.add_middleware(SmallData, rules=site / "rules", config=site / "smalldata.yaml",
                       overrides=Overrides(events=NullSink(), recommender=recommender))
    return TestClient(app, client=("127.0.0.1", 50000))  # the shop's own host: health shows its details


def items(response: Any) -> list[dict[str, Any]]:
    match = re.search(r'id="smalldata">(.*?)</script>', response.text)
    assert match, "no payload on the page"
    found: list[dict[str, Any]] = json.loads(match.group(1))["decision"]["recommendations"]["recommendations"]["items"]
    return found


def test_a_product_page_recommends_from_the_configured_catalogue(site: Path) -> None:
    with make_client(site) as client:
        found = items(client.get("/products/mug"))
    assert [item["id"] for item in found] == ["saucer", "candle"]  # the spoon is out of stock
    assert found[0]["price_text"] == "49,00 kr." and found[0]["url"] == "/products/saucer"


def test_health_shows_the_catalogue(site: Path) -> None:
    with make_client(site) as client:
        catalogue = client.get("/_smalldata/health").json()["catalogue"]
    assert catalogue == {"products": 4, "skipped_rows": [], "error": None}


def test_a_bad_row_is_skipped_and_shown_with_its_line(site: Path) -> None:
    (site / "data" / "products.yaml").write_text(PRODUCTS + "- {id: lamp, name: Lamp, price: cheap}\n")
    with make_client(site) as client:
        catalogue = client.get("/_smalldata/health").json()["catalogue"]
    assert catalogue["products"] == 4
    where = site / "data" / "products.yaml"
    assert catalogue["skipped_rows"] == [f"{where}:6:33: product 'lamp': 'price' must be a number, not 'cheap'"]


def test_a_missing_catalogue_file_fails_at_start_up(site: Path) -> None:
    (site / "data" / "products.yaml").unlink()
    with pytest.raises(ProblemsError, match="cannot read catalogue"):
        make_client(site).__enter__()


def test_an_edited_catalogue_is_picked_up(site: Path) -> None:
    with make_client(site) as client:
        assert items(client.get("/products/mug"))[0]["name"] == "Saucer"
        text = PRODUCTS.replace("name: Saucer", "name: Blue Saucer")
        (site / "data" / "products.yaml").write_text(text, encoding="utf-8")
        assert items(client.get("/products/mug"))[0]["name"] == "Blue Saucer"


def test_an_explicit_recommender_wins_over_the_catalogue(site: Path) -> None:
    async def house_picks(recommendation: Recommendation, signals: Signals) -> list[dict[str, Any]]:
        return [{"id": "house", "name": "House pick", "url": "/products/house"}]

    with make_client(site, recommender=house_picks) as client:
        assert [item["id"] for item in items(client.get("/products/mug"))] == ["house"]


@respx.mock
def test_the_basket_service_is_asked_when_only_a_recommendation_needs_the_basket(site: Path) -> None:
    (site / "rules" / "shop.yaml").write_text(BASKET_RULES, encoding="utf-8")
    with (site / "smalldata.yaml").open("a", encoding="utf-8") as settings:
        settings.write('basket: {service_url: "https://basket.test/baskets/{id}", id_cookie: cart}\n')
    respx.get("https://basket.test/baskets/b-1").respond(json={"items": [{"sku": "mug", "price": 99}]})
    with make_client(site) as client:
        client.cookies["cart"] = "b-1"
        assert [item["id"] for item in items(client.get("/"))] == ["saucer", "candle"]


BASKET_RULES = """
rules:
  - id: basket-complements
    then:
      recommend: {strategy: complements, limit: 3, exclude: [in_basket]}
"""
