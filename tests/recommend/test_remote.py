"""``strategy: remote``: the HTTP recommender's answer, or the fallback strategy when it fails."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import respx

from smalldata.recommend import CatalogueRecommender, RecommenderSettings

from .shop import catalogue, decision, signals

URL = "https://reco.example/recommend"
BESTSELLERS = ["candle", "throw", "lamp"]


def recommender(**config: Any) -> CatalogueRecommender:
    return CatalogueRecommender(catalogue(), RecommenderSettings.model_validate({"url": URL, **config}))


async def remote_ids(reco: CatalogueRecommender, *, exclude: tuple[str, ...] = (), given: dict[str, Any] | None = None,
                     **options: Any) -> list[str]:
    made = decision("remote", limit=3, exclude=exclude, **options)
    await reco.start()  # as the app does at start-up: no page waits for the client to be made
    await reco.resolve(made, signals(**(given or {})))
    return [item["id"] for item in made.recommendations["recommendations"].items]


@respx.mock
async def test_the_services_ids_are_shown_with_catalogue_data() -> None:
    route = respx.post(URL).respond(json={"items": [{"id": "teapot"}, {"id": "gone-sku"}, {"id": "cushion"}]})
    assert await remote_ids(recommender()) == ["teapot", "cushion"]
    assert route.called


@respx.mock
async def test_the_service_hears_who_is_shopping_but_not_their_ip_or_email() -> None:
    route = respx.post(URL).respond(json=["saucer"])
    given = {"page_product": "mug", "page_category": "kitchen", "basket_skus": ["throw"],
             "history_viewed_products": ["lamp"], "visitor_id": "v1", "user_logged_in": True, "user_id": "c-42",
             "user_email": "ada@example.com", "page_language": "da"}
    await remote_ids(recommender(), given=given)
    body = json.loads(route.calls.last.request.content)
    assert body == {"slot": "recommendations", "limit": 4, "visitor": "v1", "user": "c-42", "product": "mug",
                    "category": "kitchen", "basket": ["throw"], "viewed": ["lamp"], "language": "da"}


@respx.mock
async def test_the_services_answer_still_obeys_stock_and_exclusions() -> None:
    respx.post(URL).respond(json=["spoon", "throw", "lamp", "lamp", "saucer", "mug"])
    given = {"basket_skus": ["throw"]}
    assert await remote_ids(recommender(), exclude=("in_basket",), given=given) == ["lamp", "saucer", "mug"]


@respx.mock
async def test_answers_are_cached() -> None:
    route = respx.post(URL).respond(json=["lamp"])
    reco = recommender(cache_seconds=60)
    for _ in range(3):
        assert await remote_ids(reco) == ["lamp"]
    assert route.call_count == 1


def slow(seconds: float) -> Any:
    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(seconds)
        return httpx.Response(200, json=["lamp"])

    return answer


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"side_effect": slow(1.0)}, id="timeout"),
        pytest.param({"side_effect": httpx.ConnectError("refused")}, id="network error"),
        pytest.param({"return_value": httpx.Response(500, json=["lamp"])}, id="500"),
        pytest.param({"return_value": httpx.Response(200, content=b"{not json")}, id="malformed JSON"),
        pytest.param({"return_value": httpx.Response(200, json={"recs": "lamp"})}, id="wrong shape"),
        pytest.param({"return_value": httpx.Response(200, json=[{"sku": 1}])}, id="items without ids"),
    ],
)
@respx.mock
async def test_a_failing_service_falls_back_to_bestsellers_quickly(failure: dict[str, Any]) -> None:
    respx.post(URL).mock(**failure)
    started = time.perf_counter()
    assert await remote_ids(recommender(timeout_ms=50)) == BESTSELLERS
    assert time.perf_counter() - started < 0.5


@respx.mock
async def test_the_rules_fallback_is_used_instead_of_the_default() -> None:
    respx.post(URL).respond(500)
    assert await remote_ids(recommender(), fallback="new_arrivals") == ["throw", "saucer", "lamp"]


@respx.mock
async def test_the_settings_fallback_is_used_when_the_rule_names_none() -> None:
    respx.post(URL).respond(500)
    assert await remote_ids(recommender(fallback="new_arrivals")) == ["throw", "saucer", "lamp"]


async def test_without_a_configured_url_remote_slots_use_the_fallback() -> None:
    assert await remote_ids(CatalogueRecommender(catalogue())) == BESTSELLERS


@respx.mock
async def test_after_repeated_failures_the_service_is_left_alone_for_a_while() -> None:
    route = respx.post(URL).respond(503)
    reco = recommender(failures_before_pause=2, pause_seconds=60, cache_seconds=0)
    for _ in range(5):
        assert await remote_ids(reco) == BESTSELLERS
    assert route.call_count == 2


@respx.mock
async def test_failures_are_not_cached() -> None:
    route = respx.post(URL)
    route.side_effect = [httpx.Response(500), httpx.Response(200, json=["lamp"])]
    reco = recommender(cache_seconds=60)
    assert await remote_ids(reco) == BESTSELLERS
    assert await remote_ids(reco) == ["lamp"]


@respx.mock
async def test_a_short_answer_is_topped_up_by_the_rules_fallback() -> None:
    respx.post(URL).respond(json=["teapot"])
    assert await remote_ids(recommender(), fallback="bestsellers") == ["teapot", "candle", "throw"]


def test_the_fallback_cannot_be_remote_itself() -> None:
    with pytest.raises(ValueError, match="local strategy"):
        RecommenderSettings(url=URL, fallback="remote")
