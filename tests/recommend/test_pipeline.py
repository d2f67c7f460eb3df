"""The recommender plugs into the middleware's pipeline as its ``recommender``."""

from __future__ import annotations

from pathlib import Path

from smalldata.app import Overrides, build
from smalldata.foundation.asgi import make_scope
from smalldata.recommend import CatalogueRecommender
from smalldata.settings import Settings
from smalldata.signals.base import StaticSignals
from smalldata.signals.config import PageSettings
from tests.rules.helpers import decide, problems_of, write_rules

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
    parts = build(rules=tmp_path, settings=settings, overrides=Overrides(recommender=CatalogueRecommender(catalogue())))
    visit = await parts.pages.begin(make_scope("/products/mug"))
    assert visit is not None
    recommendation = visit.decision.to_json()["recommendations"]["recommendations"]
    assert recommendation["title"] == "Goes well with"
    assert [item["id"] for item in recommendation["items"]] == ["saucer", "candle"]  # spoon is out of stock
    assert recommendation["items"][0]["price_text"] == "100,00 kr."


async def _items(tmp_path: Path, recommend: str, given: dict[str, object]) -> list[str]:
    rules = f"rules:\n  - id: picks\n    then:\n      recommend: {recommend}\n"
    decision = decide(write_rules(tmp_path, rules), given)
    await CatalogueRecommender(catalogue()).resolve(decision, StaticSignals(given))
    return [item["id"] for item in decision.recommendations["recommendations"].items]


async def test_products_in_the_basket_are_left_out_without_being_asked(tmp_path: Path) -> None:
    given = {"basket.skus": ["throw", "candle"]}
    ids = await _items(tmp_path, "{strategy: bestsellers, limit: 3, exclude: [purchased]}", given)
    assert ids == ["lamp", "mug", "teapot"]  # candle (80) and throw (70) sell best but are in the basket


async def test_a_rule_may_show_what_is_in_the_basket(tmp_path: Path) -> None:
    given = {"basket.skus": ["throw", "candle"]}
    ids = await _items(tmp_path, "{strategy: bestsellers, limit: 3, include_basket: true}", given)
    assert ids == ["candle", "throw", "lamp"]


def test_including_and_excluding_the_basket_at_once_is_an_error(tmp_path: Path) -> None:
    recommend = "{strategy: bestsellers, exclude: [in_basket], include_basket: true}"
    rules = f"rules:\n  - id: picks\n    then:\n      recommend: {recommend}\n"
    assert any("contradict" in problem for problem in problems_of(write_rules(tmp_path, rules)))
