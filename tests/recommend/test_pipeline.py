"""The recommender plugs into the middleware's pipeline as its ``recommender``."""

from __future__ import annotations

from pathlib import Path

from smalldata.app import build
from smalldata.asgi import make_scope
from smalldata.recommend import Recommender
from smalldata.settings import Settings
from smalldata.signals.config import PageSettings

from .shop import catalogue

RULES = """\
rules:
  - id: product-complements
    when: {page.product: {exists: true}}
    then:
      recommend: {strategy: complements, limit: 2, exclude: [in_basket], title: "Goes well with"}
"""


async def test_a_product_page_gets_its_complements_from_the_catalogue(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(RULES)
    settings = Settings(page=PageSettings(product=("/products/{product}",)))
    parts = build(rules=tmp_path, settings=settings, recommender=Recommender(catalogue()))
    visit = await parts.pages.begin(make_scope("/products/mug"))
    assert visit is not None
    recommendation = visit.decision.to_json()["recommendations"]["recommendations"]
    assert recommendation["title"] == "Goes well with"
    assert [item["id"] for item in recommendation["items"]] == ["saucer", "candle"]  # spoon is out of stock
    assert recommendation["items"][0]["price_text"] == "100,00 kr."
