"""basket.*: from a session key, cookie, app callable or basket service, normalised."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import respx
from starlette.requests import Request

from smalldata.signals.basket import normalise

from .helpers import request, settings, sources_of

LINES = [
    {"sku": "shoe-1", "name": "Runner", "price": 250, "quantity": 1, "category": "shoes"},
    {"product_id": "sock-2", "title": "Socks", "unit_price": "25,00", "qty": 2, "category": "socks"},
]
SERVICE = "https://basket.example/baskets/{id}"


def basket(signals: Any) -> dict[str, Any]:
    return {name.split(".", 1)[1]: value for name, value in signals.namespace("basket").items()}


def app_basket(request: Request) -> list[dict[str, Any]]:
    return LINES


async def app_basket_async(request: Request) -> dict[str, Any]:
    return {"items": LINES[:1], "currency": "EUR"}


def test_session_basket_is_normalised() -> None:
    config = settings(basket={"session_key": "cart", "currency": "DKK", "free_shipping_threshold": 500})
    assert basket(request("/", config=config, session={"cart": {"items": LINES}})) == {
        "items": [
            {"sku": "shoe-1", "name": "Runner", "price": 250.0, "quantity": 1, "category": "shoes"},
            {"sku": "sock-2", "name": "Socks", "price": 25.0, "quantity": 2, "category": "socks"},
        ],
        "count": 3,
        "total": 300.0,
        "currency": "DKK",
        "skus": ["shoe-1", "sock-2"],
        "categories": ["shoes", "socks"],
        "empty": False,
        "free_shipping_gap": 200.0,
    }


@pytest.mark.parametrize(
    ("total", "threshold", "gap"),
    [(300, 500, 200.0), (500, 500, 0.0), (750, 500, 0.0), (300, None, None)],
)
def test_free_shipping_gap(total: float, threshold: float | None, gap: float | None) -> None:
    config = settings(basket={"session_key": "cart", "free_shipping_threshold": threshold})
    session = {"cart": {"items": [{"sku": "a", "price": total}]}}
    assert request("/", config=config, session=session).get("basket.free_shipping_gap") == gap


def test_a_missing_session_key_is_an_empty_basket() -> None:
    config = settings(basket={"session_key": "cart", "free_shipping_threshold": 500})
    found = basket(request("/", config=config, session={}))
    assert (found["count"], found["empty"], found["total"], found["free_shipping_gap"]) == (0, True, 0, 500)


def test_no_source_configured_is_unknown() -> None:
    assert set(basket(request("/")).values()) == {None}


@pytest.mark.parametrize("encode", [lambda text: text, quote], ids=["plain JSON", "URL-encoded JSON"])
def test_cookie_basket(encode: Any) -> None:
    value = encode(json.dumps({"items": LINES, "currency": "SEK"}, separators=(",", ":")))
    found = basket(request("/", config=settings(basket={"cookie": "cart"}), headers={"cookie": f"cart={value}"}))
    assert (found["count"], found["currency"], found["skus"]) == (3, "SEK", ["shoe-1", "sock-2"])


@pytest.mark.parametrize("value", ["{not json", "%7Bbroken", "x" * 5000, '"a string"', "12"])
def test_a_malformed_cookie_is_unknown_not_an_error(value: str) -> None:
    found = basket(request("/", config=settings(basket={"cookie": "cart"}), headers={"cookie": f"cart={value}"}))
    assert set(found.values()) == {None}


def test_no_cookie_is_an_empty_basket() -> None:
    assert request("/", config=settings(basket={"cookie": "cart"})).get("basket.empty") is True


def test_bad_lines_are_skipped_and_an_unknown_price_makes_the_total_unknown() -> None:
    lines = [
        {"sku": "ok", "price": 10, "quantity": 2},
        {"name": "no sku", "price": 5},
        {"sku": "negative", "price": 5, "quantity": -1},
        {"sku": "fraction", "price": 5, "quantity": 1.5},
        {"sku": "bool-price", "price": True},
        "not a line",
        None,
    ]
    found = basket(request("/", config=settings(basket={"session_key": "cart", "free_shipping_threshold": 100}),
                           session={"cart": lines}))
    assert found["skus"] == ["ok", "bool-price"]
    assert found["count"] == 3
    assert found["total"] is None
    assert found["free_shipping_gap"] is None


def test_a_given_total_is_used() -> None:
    session = {"cart": {"items": [{"sku": "a"}], "total": "99.90"}}
    assert request("/", config=settings(basket={"session_key": "cart"}), session=session).get("basket.total") == 99.9


async def test_app_callable() -> None:
    signals = request("/", config=settings(basket={"callable": f"{__name__}:app_basket"}))
    await signals.prefetch(["basket"])
    assert signals.get("basket.count") == 3


async def test_async_app_callable_is_awaited_by_prefetch() -> None:
    signals = request("/", config=settings(basket={"callable": f"{__name__}:app_basket_async"}))
    await signals.prefetch(["basket"])
    assert (signals.get("basket.count"), signals.get("basket.currency")) == (1, "EUR")


@respx.mock
async def test_basket_service_keyed_by_the_basket_cookie() -> None:
    route = respx.get("https://basket.example/baskets/b-123").respond(json={"items": LINES, "currency": "DKK"})
    config = settings(basket={"service_url": SERVICE, "id_cookie": "basket_id"})
    signals = request("/", config=config, headers={"cookie": "basket_id=b-123"}, sources=sources_of(config))
    await signals.prefetch(["basket"])
    assert (signals.get("basket.count"), signals.get("basket.total")) == (3, 300.0)
    assert route.call_count == 1


@respx.mock
async def test_basket_service_keyed_by_the_logged_in_user() -> None:
    respx.get("https://basket.example/baskets/u7").respond(json=LINES)
    config = settings(basket={"service_url": SERVICE}, user={"session_key": "uid"})
    signals = request("/", config=config, session={"uid": "u7"}, sources=sources_of(config))
    await signals.prefetch(["user", "basket"])
    assert signals.get("basket.skus") == ["shoe-1", "sock-2"]


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(500), httpx.Response(200, text="<html>"), httpx.ReadTimeout("slow")],
    ids=["500", "malformed JSON", "timeout"],
)
@respx.mock
async def test_a_failing_basket_service_is_unknown(answer: Any) -> None:
    respx.get("https://basket.example/baskets/b-1").mock(side_effect=[answer])
    config = settings(basket={"service_url": SERVICE, "id_cookie": "basket_id"})
    signals = request("/", config=config, headers={"cookie": "basket_id=b-1"}, sources=sources_of(config))
    await signals.prefetch(["basket"])
    assert set(basket(signals).values()) == {None}


@respx.mock
async def test_parallel_requests_for_one_basket_make_one_fetch() -> None:
    import asyncio

    route = respx.get("https://basket.example/baskets/b-1").respond(json=LINES)
    config = settings(basket={"service_url": SERVICE, "id_cookie": "basket_id", "timeout_ms": 500})
    sources = sources_of(config)
    many = [request("/", config=config, headers={"cookie": "basket_id=b-1"}, sources=sources) for _ in range(10)]
    await asyncio.gather(*(signals.prefetch(["basket"]) for signals in many))
    assert [signals.get("basket.count") for signals in many] == [3] * 10
    assert route.call_count == 1


async def current_user_async(scope: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": "u9"}


@respx.mock
async def test_basket_service_keyed_by_a_user_from_an_async_callable_even_when_rules_read_only_basket() -> None:
    respx.get("https://basket.example/baskets/u9").respond(json=LINES)
    config = settings(basket={"service_url": SERVICE}, user={"callable": f"{__name__}:current_user_async"})
    signals = request("/", config=config, sources=sources_of(config))
    await signals.prefetch(["basket"])
    assert signals.get("basket.count") == 3


class _Lines(Mapping[str, Any]):
    """A basket line that is a Mapping but not a dict (an ORM row, a frozen mapping)."""

    def __init__(self, **values: Any) -> None:
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@pytest.mark.parametrize(
    ("raw", "count", "total", "skus"),
    [
        ({"lines": [{"id": "a", "count": 3, "price": 2}]}, 3, 6.0, ["a"]),
        ({"items": [{"sku": "a", "quantity": None, "qty": 5, "price": 1}]}, 0, 0, []),  # quantity given: it counts
        ({"items": [{"sku": 7, "qty": 2, "unit_price": 1.5}, {"sku": "7", "price": 1}]}, 3, 4.0, ["7"]),
        ({"items": [{"sku": "a", "price": float("nan")}]}, 1, None, ["a"]),
        (_Lines(items=[_Lines(sku="a", quantity=2, price=3)]), 2, 6.0, ["a"]),
        ([{"sku": "a"}, {"sku": "b", "quantity": 2}], 3, None, ["a", "b"]),
        ({"items": []}, 0, 0, []),
    ],
)
def test_basket_shapes_are_counted_and_summed(raw: Any, count: int, total: float | None, skus: list[str]) -> None:
    found = normalise(raw, "DKK", None)
    assert (found["basket.count"], found["basket.total"], found["basket.skus"]) == (count, total, skus)
    assert found["basket.empty"] is (count == 0)
