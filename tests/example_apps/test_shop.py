"""The demo shop over HTTP with the shipped rules: every page works and carries the slots the rules fill."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from smalldata.events import CallableSink
from smalldata.tools.demo import load_app

WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
EN = {"accept-language": "en"}


@pytest.fixture
def events() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def client(events: list[dict[str, Any]]) -> Any:
    app = load_app(clock=lambda: WEDNESDAY_10, events=CallableSink(events.append))
    with TestClient(app, headers=EN) as client:
        yield client


def decision(response: Any) -> dict[str, Any]:
    match = re.search(r'id="smalldata">(.*?)</script>', response.text)
    assert match, "no payload on the page"
    result: dict[str, Any] = json.loads(match.group(1))["decision"]
    return result


@pytest.mark.parametrize(
    ("path", "slots"),
    [
        ("/", ["greeting", "banner:hero", "recommend:recommendations"]),
        ("/category/coffee", ["greeting", "recommend:recommendations"]),
        ("/products/mug-hygge", ["greeting", "recommend:recommendations"]),
        ("/basket", ["greeting", "banner:basket", "recommend:recommendations"]),
        ("/pricing", ["greeting"]),
        ("/faq", ["greeting"]),
        ("/stores", ["greeting", "banner:store"]),
        ("/checkout", ["greeting"]),
        ("/login", ["greeting"]),
    ],
)
def test_every_page_works_and_has_its_slots(client: Any, path: str, slots: list[str]) -> None:
    response = client.get(path)
    assert response.status_code == 200
    for slot in slots:
        assert f'data-smalldata-slot="{slot}"' in response.text


def test_checkout_form_is_marked_for_prefill(client: Any) -> None:
    assert 'data-smalldata-form="checkout"' in client.get("/checkout").text


def test_first_visit_gets_a_welcome(client: Any) -> None:
    assert decision(client.get("/"))["greeting"] == "Welcome to Nordisk Hjem"


def test_category_page_recommends_its_bestsellers(client: Any) -> None:
    items = decision(client.get("/category/coffee"))["recommendations"]["recommendations"]["items"]
    assert len(items) == 4
    assert all(item["url"].startswith("/products/") and item["price"] > 0 for item in items)
    assert {item["id"] for item in items} <= {
        "coffee-house",
        "coffee-espresso",
        "pour-over",
        "filters",
        "french-press",
        "tea-earl-grey",
        "teapot",
        "grinder",
    }


def test_logged_in_customer_is_greeted_and_checkout_is_prefilled(client: Any) -> None:
    client.post("/login", data={"customer": "mette"})
    found = decision(client.get("/checkout"))
    assert found["greeting"] == "Hi Mette, good to see you again"
    assert found["prefill"]["checkout"] == {
        "email": "mette@example.com",
        "name": "Mette Hansen",
        "phone": "+45 20 30 40 50",
    }


def test_a_member_is_reminded_of_their_points_from_the_shops_own_loyalty_namespace(client: Any) -> None:
    assert "loyalty" not in decision(client.get("/"))["banners"]  # not logged in: no loyalty account
    client.post("/login", data={"customer": "mette"})  # 2450 points in examples/shop/loyalty.py
    banner = decision(client.get("/"))["banners"]["loyalty"]
    assert banner["html"] == "You have 2,450 bonus points — use them at checkout"
    client.post("/login", data={"customer": "jonas"})  # 120 points: too few
    assert "loyalty" not in decision(client.get("/"))["banners"]


def test_basket_close_to_free_shipping_shows_the_nudge(client: Any) -> None:
    client.post("/basket/add", data={"sku": "throw-wool"})  # 599 kr. is over 499
    client.post("/basket/remove", data={"sku": "throw-wool"})
    client.post("/basket/add", data={"sku": "lantern"})  # 349 kr.: 150 kr. to go
    found = decision(client.get("/basket"))
    assert found["banners"]["basket"]["html"] == "Only DKK 150.00 to go for free shipping"
    items = found["recommendations"]["recommendations"]["items"]
    assert items and "lantern" not in [item["id"] for item in items]


def test_product_pages_remember_what_was_viewed(client: Any) -> None:
    client.get("/products/mug-hygge")
    client.get("/products/teapot")
    found = decision(client.get("/"))
    ids = [item["id"] for item in found["recommendations"]["recommendations"]["items"]]
    assert ids[:2] == ["teapot", "mug-hygge"]


def test_logged_in_customer_gets_personal_picks_from_the_catalogue(client: Any) -> None:
    client.post("/login", data={"customer": "mette"})  # bought from tableware and coffee
    recommendation = decision(client.get("/"))["recommendations"]["recommendations"]
    assert recommendation["title"] == "Picked for you"
    items = recommendation["items"]
    assert len(items) == 4
    assert {category for item in items for category in item["categories"]} <= {"tableware", "coffee"}
    assert not {"mug-hygge", "coffee-house"} & {item["id"] for item in items}  # already bought
    assert all(item["price_text"].endswith(" kr.") and item["image"].endswith(".svg") for item in items)


def test_personal_picks_leave_out_what_is_already_in_the_basket(client: Any) -> None:
    client.post("/login", data={"customer": "mette"})
    picked = [item["id"] for item in decision(client.get("/"))["recommendations"]["recommendations"]["items"]]
    client.post("/basket/add", data={"sku": picked[0]})
    items = decision(client.get("/"))["recommendations"]["recommendations"]["items"]
    assert len(items) == 4 and picked[0] not in [item["id"] for item in items]


def test_recommended_prices_read_as_the_shop_writes_its_own(client: Any) -> None:
    page = client.get("/category/coffee")
    for item in decision(page)["recommendations"]["recommendations"]["items"]:
        shop_price = re.search(rf'href="{item["url"]}">[^<]*</a>\s*<span class="price">([^<]*)<', page.text)
        assert shop_price and shop_price.group(1) == item["price_text"]  # e.g. 549,00 kr.


def test_a_customer_is_congratulated_on_their_birthday_until_they_log_out(client: Any) -> None:
    client.post("/login", data={"customer": "jonas"})  # born on 25 November
    assert decision(client.get("/"))["greeting"] == "Happy birthday, Jonas!"
    client.post("/logout")
    assert decision(client.get("/"))["greeting"] == "Welcome to Nordisk Hjem"


def test_a_visitor_in_the_winter_test_is_exposed_once(client: Any, events: list[dict[str, Any]]) -> None:
    client.get("/")
    client.get("/")
    exposures = [event for event in events if event["type"] == "exposure"]
    assert len(exposures) == 1
    assert exposures[0]["experiment"] == "winter-hero"
    assert exposures[0]["path"] == "/" and exposures[0]["forced"] is False
    assert exposures[0]["visitor"]


def test_an_order_is_recorded_once_as_a_conversion_by_the_shops_server(
    client: Any, events: list[dict[str, Any]]
) -> None:
    client.get("/")
    client.post("/basket/add", data={"sku": "lantern"})
    thanks = client.post("/checkout", data={"name": "Mette"})
    order_id = re.search(r"Your order (NH-[0-9A-F]+)", thanks.text).group(1)  # type: ignore[union-attr]
    forged = client.post("/_smalldata/events", json={"type": "conversion", "order_id": order_id, "value": 1})
    assert forged.status_code == 403  # a browser's word is not taken for it
    conversions = [event for event in events if event["type"] == "conversion"]
    exposure = next(event for event in events if event["type"] == "exposure")
    assert [(c["order_id"], c["value"], c["currency"], c["source"], c["visitor"]) for c in conversions] == [
        (order_id, 349, "DKK", "server", exposure["visitor"])
    ]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x",
                                    "/\tevil", "evil.example"])
def test_login_never_redirects_off_the_site(client: Any, target: str) -> None:
    for where in ({"data": {"customer": "mette", "next": target}}, {"params": {"next": target}}):
        response = client.post("/login", follow_redirects=False, **where)
        assert response.status_code == 303
        assert response.headers["location"] == "/"


def test_login_returns_to_the_page_it_came_from(client: Any) -> None:
    response = client.post("/login", data={"customer": "mette", "next": "/checkout?step=2"}, follow_redirects=False)
    assert response.headers["location"] == "/checkout?step=2"


def test_the_demo_server_does_not_take_the_client_address_from_x_forwarded_for() -> None:
    # uvicorn's default believes X-Forwarded-For from any loopback client; smalldata's trusted_proxies decide
    import httpx

    from smalldata.tools.demo import serve_in_thread

    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        seen.append(scope["client"][0])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with serve_in_thread(app=app) as url:
        httpx.get(url + "/", headers={"x-forwarded-for": "81.2.69.142"})
    assert seen == ["127.0.0.1"]


def test_smalldata_demo_runs_uvicorn_without_proxy_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from smalldata.tools import demo

    options: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: options.update(kwargs))
    demo.run(port=0)
    assert options["proxy_headers"] is False
