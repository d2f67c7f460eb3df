"""Every local strategy and exclusion on a small catalogue (see ``shop.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from smalldata.catalogue import Product
from smalldata.recommend import CatalogueRecommender, resolve_recommendations

from .shop import catalogue, decision, product, signals


async def ids(strategy: str, given: dict[str, Any] | None = None, **options: Any) -> list[str]:
    made = decision(strategy, **options)
    await CatalogueRecommender(catalogue()).resolve(made, signals(**(given or {})))
    return [item["id"] for item in made.recommendations["recommendations"].items]


async def test_recently_viewed_shows_what_the_visitor_looked_at_most_recent_first() -> None:
    given = {"history_viewed_products": ["lamp", "unknown-sku", "mug", "spoon"]}
    assert await ids("recently_viewed", given) == ["lamp", "mug"]  # unknown ids and out-of-stock dropped


async def test_recently_viewed_is_empty_for_a_new_visitor() -> None:
    assert await ids("recently_viewed") == []


async def test_complements_come_from_the_product_page_first_then_the_basket() -> None:
    given = {"page_product": "throw", "basket_skus": ["mug"]}
    # interleaved: throw's 1st, mug's 1st, throw's 2nd, mug's 2nd (spoon is out of stock), mug's 3rd (candle, seen)
    assert await ids("complements", given) == ["cushion", "saucer", "candle"]


async def test_complements_never_recommend_the_product_on_the_page() -> None:
    assert "mug" not in await ids("complements", {"page_product": "mug", "basket_skus": ["saucer"]})


async def test_complements_without_a_product_or_basket_are_empty() -> None:
    assert await ids("complements") == []


async def test_bestsellers_rank_by_popularity_with_ties_in_catalogue_order() -> None:
    assert await ids("bestsellers") == ["candle", "throw", "lamp", "mug", "teapot", "cushion", "saucer"]


@pytest.mark.parametrize(
    ("category", "given", "expected"),
    [
        pytest.param(None, {"page_category": "lighting"}, ["candle", "lamp"], id="default: the page's category"),
        pytest.param(None, {}, ["candle", "throw", "lamp", "mug", "teapot", "cushion", "saucer"], id="default: all"),
        pytest.param("kitchen", {"page_category": "lighting"}, ["mug", "teapot", "saucer"], id="a named category"),
        pytest.param("all", {"page_category": "lighting"}, ["candle", "throw", "lamp", "mug", "teapot", "cushion",
                                                             "saucer"], id="all, even on a category page"),
        pytest.param("most_viewed", {"history_category_views": {"textiles": 4, "kitchen": 2},
                                     "page_category": "lighting"}, ["throw", "cushion"], id="most viewed"),
        pytest.param("most_viewed", {"history_category_views": {"textiles": 2, "kitchen": 2}},
                     ["mug", "teapot", "saucer"], id="most viewed tie: first in the catalogue"),
        pytest.param("most_viewed", {"page_category": "lighting"}, ["candle", "lamp"],
                     id="most viewed without history: the page's category"),
        pytest.param("page", {}, ["candle", "throw", "lamp", "mug", "teapot", "cushion", "saucer"],
                     id="page without a category: all"),
    ],
)
async def test_bestsellers_choose_their_category(category: str | None, given: dict[str, Any],
                                                 expected: list[str]) -> None:
    assert await ids("bestsellers", given, category=category) == expected


async def test_new_arrivals_are_newest_first_and_undated_products_last() -> None:
    # spoon (2026-04-01) is newest but out of stock
    assert await ids("new_arrivals") == ["throw", "saucer", "lamp", "mug", "teapot", "candle", "cushion"]


async def test_new_arrivals_can_be_limited_to_a_category() -> None:
    assert await ids("new_arrivals", category="kitchen") == ["saucer", "mug", "teapot"]


async def test_personal_picks_come_from_the_categories_bought_and_viewed_most() -> None:
    given = {
        "user_logged_in": True,
        "user_purchased": ["candle", "textiles"],  # a product (lighting) and a category name
        "history_category_views": {"kitchen": 7, "textiles": 1},
    }
    # kitchen 7 views; textiles 1 + 5; lighting 5 → kitchen, then textiles, then lighting
    assert await ids("personal", given) == ["mug", "teapot", "saucer", "throw", "cushion", "candle", "lamp"]


async def test_personal_picks_ignore_purchases_of_a_visitor_who_is_not_logged_in() -> None:
    assert await ids("personal", {"user_purchased": ["candle"]}) == []


@pytest.mark.parametrize(
    ("exclude", "left_out"),
    [
        (("in_basket",), {"throw"}),
        (("purchased",), {"candle"}),
        (("viewed",), {"lamp", "mug"}),
        (("in_basket", "purchased", "viewed"), {"throw", "candle", "lamp", "mug"}),
        ((), set()),
    ],
)
async def test_exclusions_leave_out_the_basket_purchases_and_viewed(exclude: tuple[str, ...],
                                                                    left_out: set[str]) -> None:
    given = {"basket_skus": ["throw"], "user_logged_in": True, "user_purchased": ["candle"],
             "history_viewed_products": ["lamp", "mug"]}
    everything = ["candle", "throw", "lamp", "mug", "teapot", "cushion", "saucer"]
    assert await ids("bestsellers", given, exclude=exclude) == [i for i in everything if i not in left_out]


@pytest.mark.parametrize("strategy", ["recently_viewed", "complements", "bestsellers", "new_arrivals", "personal"])
async def test_no_strategy_recommends_out_of_stock_products_or_duplicates(strategy: str) -> None:
    given = {"history_viewed_products": ["spoon", "mug", "mug"], "basket_skus": ["mug", "saucer"],
             "user_logged_in": True, "user_purchased": ["mug"], "history_category_views": {"kitchen": 3}}
    found = await ids(strategy, given)
    assert "spoon" not in found
    assert len(found) == len(set(found)) > 0


async def test_the_limit_keeps_the_best_items() -> None:
    assert await ids("bestsellers", limit=2) == ["candle", "throw"]


async def test_a_fallback_fills_a_slot_its_strategy_left_short() -> None:
    given = {"history_viewed_products": ["lamp"]}
    assert await ids("recently_viewed", given, limit=3, fallback="bestsellers") == ["lamp", "candle", "throw"]


async def test_items_carry_what_the_page_template_needs() -> None:
    made = decision("bestsellers", limit=1)
    await CatalogueRecommender(catalogue()).resolve(made, signals())
    assert made.recommendations["recommendations"].items == [{
        "id": "candle", "name": "Candle", "url": "/products/candle", "image": "/img/candle.jpg", "price": 100.0,
        "currency": "DKK", "price_text": "100,00 kr.", "categories": ["lighting"],
    }]  # fmt: skip


async def test_resolve_recommendations_fills_every_slot() -> None:
    made = decision("bestsellers", limit=1)
    made.recommendations.update(decision("new_arrivals", limit=1, slot="new").recommendations)
    await resolve_recommendations(made, signals(), catalogue())
    assert {slot: [i["id"] for i in r.items] for slot, r in made.recommendations.items()} == {
        "recommendations": ["candle"], "new": ["throw"]}


async def test_the_recommender_is_the_pipelines_recommender_callable() -> None:
    made = decision("bestsellers", limit=2)
    items = await CatalogueRecommender(catalogue())(made.recommendations["recommendations"], signals())
    assert [i["id"] for i in items] == ["candle", "throw"]


async def test_malformed_signal_values_count_as_unknown() -> None:
    given = {"history_viewed_products": "mug", "basket_skus": [None, 3, {"x": 1}], "history_category_views": [1]}
    assert await ids("recently_viewed", given) == []
    assert await ids("complements", given) == []


async def test_a_custom_catalogue_object_works_and_its_edits_are_seen() -> None:
    class Shelf:
        """A shop's own catalogue: plain lists it edits in place."""

        def __init__(self) -> None:
            self.items = list(catalogue().products())

        def get(self, product_id: str) -> Product | None:
            return next((p for p in self.items if p.id == product_id), None)

        def products(self) -> list[Product]:
            return self.items

        def in_category(self, category: str) -> list[Product]:
            return [p for p in self.items if category in p.categories]

    shelf = Shelf()
    made = decision("bestsellers", limit=1)
    await CatalogueRecommender(shelf).resolve(made, signals())
    assert [i["id"] for i in made.recommendations["recommendations"].items] == ["candle"]
    shelf.items.append(product("sofa", "living", 999, None))
    await CatalogueRecommender(shelf).resolve(made, signals())
    assert [i["id"] for i in made.recommendations["recommendations"].items] == ["sofa"]


async def test_a_reloaded_catalogue_ranks_its_new_products() -> None:
    shop = catalogue()
    made = decision("bestsellers", limit=1)
    await CatalogueRecommender(shop).resolve(made, signals())
    shop.replace([*shop.products(), product("sofa", "living", 999, None)])
    await CatalogueRecommender(shop).resolve(made, signals())
    assert [i["id"] for i in made.recommendations["recommendations"].items] == ["sofa"]
